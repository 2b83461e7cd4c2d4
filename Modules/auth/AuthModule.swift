import SwiftletSDK
import SwiftletSIP

/// Kamailio's `auth` module (5.6): digest challenges, nonces, and checks of credentials
/// against passwords the script gives (`pv_*`) or that auth_db looks up (`DigestAuthAPI`).
final class AuthModule {
    // Parameters, as Kamailio's `params[]`.
    var secret: String?
    var nonceExpire = 300
    var nonceMaxDrift = 3
    var protectContacts = 0
    var challengeAttribute = "$digest_challenge"
    var proxyChallengeHeader = "Proxy-Authenticate"
    var wwwChallengeHeader = "WWW-Authenticate"
    var qopParameter = "auth"
    var checksRegister = 0
    var checksOutOfDialog = 0
    var checksInDialog = 0
    var nonceCount = 0
    var ncArraySize = 0
    var ncArrayOrder = 0
    var oneTimeNonce = 0
    var otnInFlight = 0
    var otnInFlightOrder = 0
    var nidPools = 0
    var forceStatelessReply = 0
    var realmPrefix = ""
    var useDomain = 0
    var algorithmParameter = ""
    var addAuthInfo = 0

    // Set up in mod_init.
    var hash = DigestHash.md5
    var qop = DigestQOP.auth
    var challengeAVP = "digest_challenge"
    var nonces: NonceCodec!
    var sl: StatelessReplyAPI!
    var tm: TransactionAPI?

    var exports: ModuleExports {
        let e = ModuleExports(name: "auth")
        e.parameters = parameters
        e.functions = functions
        e.provide(self, as: DigestAuthAPI.self)
        e.initialize = { (context: ModuleInitContext) in try self.initialize(context) }
        return e
    }

    private var parameters: [ModuleParameter] {
        func int(_ name: String, _ set: @escaping (Int) -> Void) -> ModuleParameter {
            ModuleParameter(name, .int { (v: Int) throws(FixupError) in set(v) })
        }
        func string(_ name: String, _ set: @escaping (String) -> Void) -> ModuleParameter {
            ModuleParameter(name, .string { (v: String) throws(FixupError) in set(v) })
        }
        return [
            string("secret") { self.secret = $0 },
            int("nonce_expire") { self.nonceExpire = $0 },
            int("nonce_auth_max_drift") { self.nonceMaxDrift = $0 },
            int("protect_contacts") { self.protectContacts = $0 },
            ModuleParameter(
                "challenge_attr",
                .string { (v: String) throws(FixupError) in
                    self.challengeAttribute = v
                    self.challengeAVP = try Self.avpName(v)
                }),
            string("proxy_challenge_header") { self.proxyChallengeHeader = $0 },
            string("www_challenge_header") { self.wwwChallengeHeader = $0 },
            ModuleParameter(
                "qop",
                .string { (v: String) throws(FixupError) in
                    self.qopParameter = v
                    self.qop = DigestCredentialsParser.qopKind(v)
                    guard self.qop != .other else { throw FixupError("auth: unsupported qop parameter value \"\(v)\"") }
                }),
            int("auth_checks_register") { self.checksRegister = $0 },
            int("auth_checks_no_dlg") { self.checksOutOfDialog = $0 },
            int("auth_checks_in_dlg") { self.checksInDialog = $0 },
            int("nonce_count") { self.nonceCount = $0 },
            int("nc_array_size") { self.ncArraySize = $0 },
            int("nc_array_order") { self.ncArrayOrder = $0 },
            int("one_time_nonce") { self.oneTimeNonce = $0 },
            int("otn_in_flight_no") { self.otnInFlight = $0 },
            int("otn_in_flight_order") { self.otnInFlightOrder = $0 },
            int("nid_pool_no") { self.nidPools = $0 },
            int("force_stateless_reply") { self.forceStatelessReply = $0 },
            string("realm_prefix") { self.realmPrefix = $0 },
            int("use_domain") { self.useDomain = $0 },
            ModuleParameter(
                "algorithm",
                .string { (v: String) throws(FixupError) in
                    guard let h = DigestHash(parameter: v) else {
                        throw FixupError(
                            "auth: invalid algorithm \"\(v)\": possible values are \"\", \"MD5\" or \"SHA-256\"")
                    }
                    self.algorithmParameter = v
                    self.hash = h
                }),
            int("add_authinfo_hdr") { self.addAuthInfo = $0 },
        ]
    }

    /// `mod_init`.
    func initialize(_ context: ModuleInitContext) throws(FixupError) {
        sl = try context.requireAPI(StatelessReplyAPI.self, by: "auth", from: "sl")
        tm = context.core.apis.lookup(TransactionAPI.self)
        var countsOn = nonceCount != 0
        if countsOn && qop == .unspecified {
            Log.warning("auth", "nonce-count support enabled, but qop not set")
            countsOn = false
        }
        let (s1, s2) = secrets()
        var pools: NonceIDPools?
        var counts: NonceCountArray?
        var oneTime: OneTimeNonceBits?
        do throws(NonceTrackingError) {
            if countsOn || oneTimeNonce != 0 { pools = NonceIDPools(pools: nidPools == 0 ? 1 : nidPools) }
            if countsOn, let pools {
                let size = ncArrayOrder > 0 ? 1 << ncArrayOrder : (ncArraySize == 0 ? 1024 * 1024 : ncArraySize)
                counts = try NonceCountArray(size: size, pools: pools)
            }
            if oneTimeNonce != 0, let pools {
                let size =
                    otnInFlightOrder > 0 ? 1 << otnInFlightOrder : (otnInFlight == 0 ? 1024 * 1024 : otnInFlight)
                oneTime = try OneTimeNonceBits(size: size, pools: pools)
            }
        } catch {
            throw FixupError("auth: \(error)")
        }
        nonces = NonceCodec(
            secret1: s1, secret2: s2, lifetime: nonceExpire, maxDrift: nonceMaxDrift, upSince: NonceCodec.now(),
            pools: pools, counts: counts, oneTime: oneTime)
    }

    /// The two nonce secrets: the `secret` parameter (split in halves when extra checks are
    /// on) or, without it, 32 random printable characters each (so nonces do not survive a
    /// restart).
    func secrets() -> ([UInt8], [UInt8]) {
        guard let secret else {
            func random() -> [UInt8] { (0..<32).map { _ in UInt8.random(in: 32...126) } }
            return (random(), random())
        }
        let s = Array(secret.utf8)
        guard checksRegister != 0 || checksInDialog != 0 || checksOutOfDialog != 0 else { return (s, []) }
        let second = s.count / 2
        if second < 16 {
            Log.warning(
                "auth",
                "consider a longer secret when extra auth checks are enabled (the config secret is divided in 2!)")
        }
        return (Array(s[..<(s.count - second)]), Array(s[(s.count - second)...]))
    }

    /// The AVP name of `challenge_attr`: `$name`, `$avp(name)`, `$avp(s:name)`.
    static func avpName(_ attr: String) throws(FixupError) -> String {
        guard attr.hasPrefix("$"), attr.count > 1 else {
            throw FixupError("auth: invalid value of challenge_attr module parameter")
        }
        var n = String(attr.dropFirst())
        if n.hasPrefix("avp("), n.hasSuffix(")") { n = String(n.dropFirst(4).dropLast()) }
        if n.hasPrefix("s:") { n = String(n.dropFirst(2)) }
        return n
    }

    /// `get_auth_checks`: the extra checks for this request.
    func checks(for ctx: MessageContext?) -> NonceChecks {
        guard let ctx else { return [] }
        if ctx.message.method == .register { return NonceChecks(rawValue: checksRegister) }
        if let tag = ctx.message.toTag, !tag.isEmpty { return NonceChecks(rawValue: checksInDialog) }
        return NonceChecks(rawValue: checksOutOfDialog)
    }

    /// `strip_realm`: the realm without `realm_prefix`.
    func strippedRealm(_ realm: String) -> String { stripRealm(realm) }

    func stripRealm(_ realm: String) -> String {
        guard !realmPrefix.isEmpty, realm.hasPrefix(realmPrefix) else { return realm }
        return String(realm.dropFirst(realmPrefix.count))
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "auth") { AuthModule().exports }
}
