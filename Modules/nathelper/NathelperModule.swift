import SwiftletSDK

/// The `nathelper` module (Kamailio's `modules/nathelper`): NAT detection
/// (`nat_uac_test`), Contact and SDP fixes, the `alias` Contact parameter, the `received`
/// value for registrar, and keepalives to registered contacts.
final class NathelperModule: @unchecked Sendable {
    var pinger = NATPinger.Settings()
    var sippingBranchFlag = -1
    var disableBranchFlag = -1
    var noRTPProxy = "a=nortpproxy:yes"
    var receivedAVPName = ""
    var receivedAVP: PseudoVariable?
    var addressMode = 1
    var aliasName = "alias"
    var appendOldMediaIP = 1
    var activePinger: NATPinger?

    var exports: ModuleExports {
        let e = ModuleExports(name: "nathelper")
        e.parameters = parameters
        e.functions = functions
        e.pseudoVariables = [
            .readOnly("rr_count") { ctx in .int(Self.recordRouteCount(ctx.message)) },
            .readOnly("rr_top_count") { ctx in .int(Self.topRecordRouteCount(ctx.message)) },
        ]
        e.rpcs = [
            RPCCommand("nathelper.enable_ping", "Set (enable/disable) nat ping") {
                [weak self] (request: RPCRequest) throws(RPCError) -> RPCValue in
                guard let pinger = self?.activePinger else { throw RPCError(500, "NATping disabled") }
                guard !request.params.isEmpty, let v = try? request.int(0) else {
                    throw RPCError(500, "No parameter")
                }
                pinger.enabled.store(v != 0 ? 1 : 0, ordering: .relaxed)
                return .null
            }
        ]
        e.replyHandler = { [weak self] ctx in
            guard let pinger = self?.activePinger, pinger.settings.sippingFlag != 0 else { return .notMine }
            return pinger.isReplyToPing(ctx.message) ? .consumed : .notMine
        }
        e.initialize = { (context: ModuleInitContext) throws(FixupError) in try self.initialize(context) }
        return e
    }

    var parameters: [ModuleParameter] {
        func int(_ name: String, _ set: @escaping (Int) -> Void) -> ModuleParameter {
            ModuleParameter(name, .int { (v: Int) throws(FixupError) in set(v) })
        }
        func string(_ name: String, _ set: @escaping (String) -> Void) -> ModuleParameter {
            ModuleParameter(name, .string { (v: String) throws(FixupError) in set(v) })
        }
        return [
            int("natping_interval") { self.pinger.interval = $0 },
            int("ping_nated_only") { self.pinger.natedOnly = $0 != 0 },
            string("nortpproxy_str") { self.noRTPProxy = $0 },
            string("received_avp") { self.receivedAVPName = $0 },
            string("force_socket") { self.pinger.forceSocket = $0 },
            string("sipping_from") { self.pinger.from = $0 },
            string("sipping_method") { self.pinger.method = $0 },
            int("sipping_bflag") { self.sippingBranchFlag = $0 },
            int("natping_disable_bflag") { self.disableBranchFlag = $0 },
            int("natping_processes") { self.pinger.processes = $0 },
            int("append_sdp_oldmediaip") { self.appendOldMediaIP = $0 },
            int("nat_addr_mode") { self.addressMode = $0 },
            string("alias_name") { self.aliasName = $0 },
        ]
    }

    /// The received AVP, compiled on first use (fixups may run before `mod_init`).
    func receivedPV() throws(FixupError) -> PseudoVariable? {
        if let receivedAVP { return receivedAVP }
        guard !receivedAVPName.isEmpty else { return nil }
        guard receivedAVPName.hasPrefix("$avp(") else {
            throw FixupError("nathelper: malformed or non AVP \(receivedAVPName) AVP definition")
        }
        receivedAVP = try PseudoVariableRegistry.shared.compile(receivedAVPName)
        return receivedAVP
    }

    func initialize(_ context: ModuleInitContext) throws(FixupError) {
        _ = try receivedPV()
        while noRTPProxy.hasSuffix("\r") || noRTPProxy.hasSuffix("\n") { noRTPProxy.removeLast() }
        guard pinger.interval > 0 else { return }
        let usrloc = try context.requireAPI(UsrlocAPI.self, by: "nathelper", from: "usrloc")
        if pinger.natedOnly, usrloc.natFlagMask == 0 {
            throw FixupError("nathelper: bad config - ping_nated_only enabled, but no nat bflag set in usrloc module")
        }
        guard pinger.processes >= 0 else { throw FixupError("nathelper: bad config - natping_processes must be >= 0") }
        pinger.sippingFlag = sippingBranchFlag >= 0 && sippingBranchFlag < 32 ? UInt32(1) << sippingBranchFlag : 0
        pinger.disableFlag = disableBranchFlag >= 0 && disableBranchFlag < 32 ? UInt32(1) << disableBranchFlag : 0
        if pinger.sippingFlag != 0 {
            guard !pinger.from.isEmpty else {
                throw FixupError("nathelper: SIP ping enabled, but SIP ping FROM is empty!")
            }
            guard !pinger.method.isEmpty else {
                throw FixupError("nathelper: SIP ping enabled, but SIP ping method is empty!")
            }
        }
        let p = NATPinger(
            settings: pinger, core: context.core, usrloc: usrloc,
            tables: context.core.apis.lookup(UsrlocTableListing.self))
        activePinger = p
        p.start()
    }

    /// `$rr_count`: the Record-Route URIs in all Record-Route headers.
    static func recordRouteCount(_ msg: SIPMessage) -> Int {
        (try? msg.nameAddrs(.recordRoute).count) ?? 0
    }

    /// `$rr_top_count`: 2 when the top Record-Route URI has `r2`, 1 otherwise, 0 without one.
    static func topRecordRouteCount(_ msg: SIPMessage) -> Int {
        guard let top = try? msg.nameAddrs(.recordRoute).first else { return 0 }
        guard let uri = try? URIComponents.parse(msg.buffer, top.uri) else { return 1 }
        let r2 = uri.parameters(msg.buffer).contains { msg.buffer.text($0.name).lowercased() == "r2" }
        return r2 ? 2 : 1
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "nathelper") { NathelperModule().exports }
}
