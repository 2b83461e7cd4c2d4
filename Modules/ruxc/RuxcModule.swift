import SwiftletSDK

/// The `ruxc` module: `ruxc_http_get`, `ruxc_http_post`, `ruxc_http_delete` with Kamailio
/// 5.6's parameters and return values. Kamailio builds it on libruxc (Rust, ureq); Swiftlet
/// makes the same requests with libcurl. Requests block the worker that makes them.
final class RuxcModule {
    var settings = RuxcSettings()

    var exports: ModuleExports {
        let e = ModuleExports(name: "ruxc")
        func int(_ name: String, _ set: @escaping (inout RuxcSettings, Int) -> Void) -> ModuleParameter {
            ModuleParameter(name, .int { (v: Int) throws(FixupError) in set(&self.settings, v) })
        }
        e.parameters = [
            int("http_timeout") { $0.timeout = $1 },
            int("http_timeout_connect") { $0.timeoutConnect = $1 },
            int("http_timeout_read") { $0.timeoutRead = $1 },
            int("http_timeout_write") { $0.timeoutWrite = $1 },
            int("http_tlsmode") { $0.tlsMode = $1 },
            int("http_reuse") { $0.reuse = $1 },
            int("http_retry") { $0.retry = $1 },
            int("http_logtype") { $0.logType = $1 },
            int("http_debug") { $0.debug = $1 },
        ]
        e.functions = [
            ScriptFunction("ruxc_http_get", parameters: 3, routes: .any) { args throws(FixupError) in
                let url = try args[0].stringFormat()
                let hdrs = try args[1].stringFormat()
                let result = try Self.writable(args[2])
                return { ctx in self.run(.get, ctx, url: url, body: nil, headers: hdrs, result: result) }
            },
            ScriptFunction("ruxc_http_post", parameters: 4, routes: .any) { args throws(FixupError) in
                let (url, body, hdrs, result) = try Self.fourArguments(args)
                return { ctx in self.run(.post, ctx, url: url, body: body, headers: hdrs, result: result) }
            },
            ScriptFunction("ruxc_http_delete", parameters: 4, routes: .any) { args throws(FixupError) in
                let (url, body, hdrs, result) = try Self.fourArguments(args)
                return { ctx in self.run(.delete, ctx, url: url, body: body, headers: hdrs, result: result) }
            },
        ]
        return e
    }

    static func fourArguments(_ args: [ScriptArgument]) throws(FixupError) -> (
        StringFormat, StringFormat, StringFormat, PseudoVariable
    ) {
        (try args[0].stringFormat(), try args[1].stringFormat(), try args[2].stringFormat(), try writable(args[3]))
    }

    static func writable(_ arg: ScriptArgument) throws(FixupError) -> PseudoVariable {
        let pv = try arg.pseudoVariable()
        guard pv.set != nil else { throw FixupError("result pvar is not writeble", at: arg.location) }
        return pv
    }

    /// One request: the status, or -1 when no reply came (-2 for a status 0); the body is
    /// stored only when there is one (the variable is left as it was otherwise), as Kamailio.
    func run(
        _ method: RuxcRequest.Method, _ ctx: MessageContext, url: StringFormat, body: StringFormat?,
        headers: StringFormat, result: PseudoVariable
    ) -> Int {
        let u = url.render(ctx)
        guard !u.isEmpty else {
            Log.error("ruxc", "URL has no value")
            return -1
        }
        let b = body?.render(ctx)
        let h = headers.render(ctx)
        let request = RuxcRequest(
            method: method, url: u, body: b?.isEmpty == false ? b : nil, headers: h.isEmpty ? nil : h)
        let response = request.perform(settings)
        let ret: Int
        if response.retcode < 0 {
            Log.error("ruxc", "failed to perform http get - retcode: \(response.retcode)")
            ret = response.retcode
        } else {
            if !response.body.isEmpty { _ = result.set?(ctx, .string(String(decoding: response.body, as: UTF8.self))) }
            ret = response.status
        }
        return ret != 0 ? ret : -2
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "ruxc") { RuxcModule().exports }
}
