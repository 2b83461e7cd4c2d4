import SwiftletSDK

/// The `topoh` module (Kamailio's `modules/topoh`): topology hiding by reversible masking.
/// Received messages are unmasked before they are parsed (`SREV_NET_DATA_IN`), messages
/// about to be written are masked (`SREV_NET_DATA_OUT`); nothing is stored.
final class TopohModule {
    var maskKey = "aL9.n8~Hm]Z"
    var maskIP = "127.0.0.8"
    var maskCallID = 0
    var uparamName = "line"
    var uparamPrefix = "sr-"
    var vparamName = "branch"
    var vparamPrefix = "z9hG4bKsr-"
    var callIDPrefix = "!!:"
    var uriPrefixChecks = 0
    /// `event_mode`: 1 runs `event_route[topoh:msg-outgoing]`, 2 `event_route[topoh:msg-sending]`.
    var eventMode = 3
    /// `sanity_checks`: 1 runs the sanity module's default checks on received requests.
    var sanityChecks = 0

    var exports: ModuleExports {
        let e = ModuleExports(name: "topoh")
        e.parameters = [
            ModuleParameter("mask_key", .string { (v: String) throws(FixupError) in self.maskKey = v }),
            ModuleParameter("mask_ip", .string { (v: String) throws(FixupError) in self.maskIP = v }),
            ModuleParameter("mask_callid", .int { (v: Int) throws(FixupError) in self.maskCallID = v }),
            ModuleParameter("uparam_name", .string { (v: String) throws(FixupError) in self.uparamName = v }),
            ModuleParameter("uparam_prefix", .string { (v: String) throws(FixupError) in self.uparamPrefix = v }),
            ModuleParameter("vparam_name", .string { (v: String) throws(FixupError) in self.vparamName = v }),
            ModuleParameter("vparam_prefix", .string { (v: String) throws(FixupError) in self.vparamPrefix = v }),
            ModuleParameter("callid_prefix", .string { (v: String) throws(FixupError) in self.callIDPrefix = v }),
            ModuleParameter("uri_prefix_checks", .int { (v: Int) throws(FixupError) in self.uriPrefixChecks = v }),
            ModuleParameter("event_mode", .int { (v: Int) throws(FixupError) in self.eventMode = v }),
            // A KEMI function name: without a KEMI engine Kamailio ignores it too.
            ModuleParameter("event_callback", .string { (_: String) throws(FixupError) in }),
            ModuleParameter("sanity_checks", .int { (v: Int) throws(FixupError) in self.sanityChecks = v }),
        ]
        e.initialize = { context in
            var sanity: (any SanityCheckAPI)?
            if self.sanityChecks != 0 {
                guard let api = context.core.apis.lookup(SanityCheckAPI.self) else {
                    throw FixupError("cannot bind to sanity module: add loadmodule \"sanity.so\"")
                }
                sanity = api
            }
            // As Kamailio 5.6's mod_init: an empty or unparseable mask address stops start-up.
            guard !self.maskIP.isEmpty else { throw FixupError("mask IP parameter is invalid") }
            let uri = Array("sip:\(self.maskIP)".utf8)
            guard let parsed = try? URIComponents.parse(uri, 0..<uri.count) else {
                throw FixupError("mask uri is invalid")
            }
            let isMyself = context.core.isMyself
            // A mask address of this proxy: URIs with it but without the param are then
            // checked as this proxy's own (th_mask_addr_myself).
            let maskIsMyself = isMyself(String(decoding: uri[parsed.host], as: UTF8.self), parsed.port)
            if maskIsMyself { Log.info("topoh", "mask address matches myself [\(self.maskIP)]") }
            let engine = TopohEngine(
                settings: TopohSettings(
                    mask: TopohMask(key: Array(self.maskKey.utf8)), ip: self.maskIP, maskCallID: self.maskCallID != 0,
                    uparamName: self.uparamName, uparamPrefix: self.uparamPrefix, vparamName: self.vparamName,
                    vparamPrefix: self.vparamPrefix, callIDPrefix: self.callIDPrefix,
                    uriPrefixChecks: self.uriPrefixChecks != 0, maskAddressIsMyself: maskIsMyself),
                isMyself: isMyself, core: context.core, eventMode: self.eventMode, sanity: sanity)
            self.engine = engine
        }
        e.netDataIn = { data in
            if let engine = self.engine, let out = engine.received(data.bytes, proto: data.proto, peer: data.peer) {
                data.bytes = out
            }
            return .continue
        }
        e.netDataOut = { data in
            if let engine = self.engine, let out = engine.sending(data) { data.bytes = out }
            return .continue
        }
        return e
    }

    /// Set once in `mod_init`, read-only afterwards.
    nonisolated(unsafe) var engine: TopohEngine?
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "topoh") { TopohModule().exports }
}
