import SwiftletSDK

/// The script functions, with Kamailio 5.6's parameter kinds: URL, body and headers may hold
/// pseudo-variables; connection names and content types are plain strings; the result is a
/// writable pseudo-variable. Each returns the HTTP status (or libcurl's error code below 100)
/// and -1 when the request could not be made.
extension HTTPClientModule {
    static let routes: RouteTypes = [.request, .onReply, .failure, .branch]

    var functions: [ScriptFunction] {
        [
            ScriptFunction("http_client_query", parameters: 2...4, routes: Self.routes) { args throws(FixupError) in
                let url = try args[0].stringFormat()
                let post = args.count >= 3 ? try args[1].stringFormat() : nil
                let hdrs = args.count == 4 ? try args[2].stringFormat() : nil
                let result = try Self.writable(args[args.count - 1])
                return { ctx in
                    self.scriptRequest(
                        ctx, url: url, method: nil, body: post, headers: hdrs, result: result)
                }
            },
            ScriptFunction("http_client_get", parameters: 4, routes: Self.routes) { args throws(FixupError) in
                let url = try args[0].stringFormat()
                let body = try args[1].stringFormat()
                let hdrs = try args[2].stringFormat()
                let result = try Self.writable(args[3])
                return { ctx in
                    self.scriptRequest(ctx, url: url, method: "GET", body: body, headers: hdrs, result: result)
                }
            },
            ScriptFunction("http_connect", parameters: 3, routes: Self.routes) { args throws(FixupError) in
                let name = try args[0].constantString()
                let url = try args[1].stringFormat()
                let result = try Self.writable(args[2])
                return { ctx in
                    let r = self.connect(connection: name, path: url.render(ctx), contentType: nil, body: nil)
                    return Self.store(r, in: result, ctx)
                }
            },
            ScriptFunction("http_connect", parameters: 5, routes: Self.routes) { args throws(FixupError) in
                let name = try args[0].constantString()
                let url = try args[1].stringFormat()
                let contentType = try args[2].constantString()
                let data = try args[3].stringFormat()
                let result = try Self.writable(args[4])
                return { ctx in
                    let r = self.connect(
                        connection: name, path: url.render(ctx), contentType: contentType, body: data.render(ctx))
                    return Self.store(r, in: result, ctx)
                }
            },
            ScriptFunction("http_connect_raw", parameters: 5, routes: Self.routes) { args throws(FixupError) in
                let name = try args[0].constantString()
                let url = try args[1].stringFormat()
                let contentType = try args[2].constantString()
                let data = try Self.rawText(args[3])
                let result = try Self.writable(args[4])
                return { ctx in
                    let r = self.connect(connection: name, path: url.render(ctx), contentType: contentType, body: data)
                    return Self.store(r, in: result, ctx)
                }
            },
            ScriptFunction("http_get_redirect", parameters: 2, routes: Self.routes) { args throws(FixupError) in
                let name = try args[0].constantString()
                let result = try Self.writable(args[1])
                return { ctx in
                    guard self.connection(name) != nil else {
                        Log.error("http_client", "No cURL connection found: \(name)")
                        return -1
                    }
                    let state = HTTPClientThreadState.current.connection(self.slot, name)
                    _ = result.set?(ctx, .string(state.redirectURL))
                    return 1
                }
            },
        ]
    }

    /// The body of `http_client_query`/`http_client_get`; empty `post`/`hdrs` are left out.
    func scriptRequest(
        _ ctx: MessageContext, url: StringFormat, method: String?, body: StringFormat?, headers: StringFormat?,
        result: PseudoVariable
    ) -> Int {
        let u = url.render(ctx)
        guard !u.isEmpty else {
            Log.error("http_client", "URL has no value")
            return -1
        }
        let b = body?.render(ctx)
        let h = headers?.render(ctx)
        let r = request(
            url: u, method: method, body: b?.isEmpty == false ? b : nil, contentType: nil,
            headers: h?.isEmpty == false ? h : nil)
        return Self.store(r, in: result, ctx)
    }

    /// Stores the body (empty when there is none) and gives the return code: the status or
    /// libcurl's error code, -1 for 0 (as Kamailio).
    static func store(_ r: HTTPClientReply, in result: PseudoVariable, _ ctx: MessageContext) -> Int {
        _ = result.set?(ctx, .string(r.body))
        return r.code == 0 ? -1 : r.code
    }

    /// The result argument: a writable pseudo-variable.
    static func writable(_ arg: ScriptArgument) throws(FixupError) -> PseudoVariable {
        let pv = try arg.pseudoVariable()
        guard pv.set != nil else { throw FixupError("result pvar is not writeble", at: arg.location) }
        return pv
    }

    /// `http_connect_raw`'s data: the text as written, `$` included.
    static func rawText(_ arg: ScriptArgument) throws(FixupError) -> String {
        switch arg.value {
        case .int(let i): return String(i)
        case .string(let s), .pseudoVariable(let s): return s
        }
    }
}
