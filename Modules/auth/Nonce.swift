import SwiftletSDK
import SwiftletSIP
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Which parts of a request the nonce also covers (`auth_checks_*` bits, Kamailio's
/// `AUTH_CHECK_*`): a nonce given for one request is then refused for another.
struct NonceChecks: OptionSet, Sendable {
    let rawValue: Int
    static let fullURI = NonceChecks(rawValue: 1)
    static let callID = NonceChecks(rawValue: 2)
    static let fromTag = NonceChecks(rawValue: 4)
    static let sourceIP = NonceChecks(rawValue: 8)
}

/// Kamailio's nonce (`nonce.c`), bit for bit: base64 of
/// `expires(4) since(4) MD5(expires since [nid pf] secret1)` then, when extra checks apply,
/// `MD5(parts secret2)`, then `nid(4) pf(1)` when nonce-count or one-time nonces are on
/// (integers in network order; pf = pool number | 128 for nc | 64 for one-time). A nonce is
/// checked with the secrets alone, so every server with the same `secret` accepts it.
final class NonceCodec: @unchecked Sendable {
    /// The results of `check_nonce`.
    enum Check: Equatable {
        case ok
        /// Not base64 of at least 24 bytes (-1), or shorter than 32 characters (1).
        case invalid
        /// Not made with our secret (2).
        case noMatch
        /// The request differs in a part the nonce covers (3: treated as stale).
        case extraChecksFailed
        /// Expired, from before this start, from too far in the future, or an `nc` seen (4).
        case stale
        /// An `nc` that is not 8 hex digits (5).
        case badNC
        /// A one-time nonce used again (6).
        case reused
    }

    static let ncFlag: UInt8 = 128
    static let oneTimeFlag: UInt8 = 64
    static let poolMask: UInt8 = 63

    let secret1: [UInt8]
    let secret2: [UInt8]
    let lifetime: Int
    let maxDrift: Int
    /// Kamailio's `up_since`: nonces made before it are stale (moved back when the clock is).
    private let upSince: Atomic<Int>
    let pools: NonceIDPools?
    let counts: NonceCountArray?
    let oneTime: OneTimeNonceBits?

    init(
        secret1: [UInt8], secret2: [UInt8], lifetime: Int, maxDrift: Int, upSince: Int, pools: NonceIDPools?,
        counts: NonceCountArray?, oneTime: OneTimeNonceBits?
    ) {
        self.secret1 = secret1
        self.secret2 = secret2
        self.lifetime = lifetime
        self.maxDrift = maxDrift
        self.upSince = Atomic(upSince)
        self.pools = pools
        self.counts = counts
        self.oneTime = oneTime
    }

    /// `calc_new_nonce`: a nonce valid from `now` for `lifetime` seconds. `context` nil
    /// (`auth_get_www_authenticate`) makes a nonce without the extra checks.
    func make(checks: NonceChecks, context: MessageContext?, now: Int) -> String {
        NonceBytes.withBuffer { bytes in
            fill(&bytes, checks: checks, context: context, now: now)
            return bytes.base64()
        }
    }

    /// `make`, with the nonce's text appended to `out` (a challenge header being written)
    /// instead of made into a string.
    func make(checks: NonceChecks, context: MessageContext?, now: Int, appendingTo out: inout [UInt8]) {
        NonceBytes.withBuffer { bytes in
            fill(&bytes, checks: checks, context: context, now: now)
            bytes.appendBase64(to: &out)
        }
    }

    /// The binary nonce of `make`, with a new nonce id when nonce counts or one-time nonces
    /// are on.
    private func fill(_ bytes: inout NonceBytes, checks: NonceChecks, context: MessageContext?, now: Int) {
        var id: UInt32 = 0
        var pf: UInt8 = 0
        if let pools, counts != nil || oneTime != nil {
            let pool = pools.poolForCurrentThread()
            id = pools.next(pool)
            pf = UInt8(pool)
            if let counts {
                counts.issued(id, pool: pool)
                pf |= Self.ncFlag
            }
            if let oneTime {
                oneTime.issued(id, pool: pool)
                pf |= Self.oneTimeFlag
            }
        }
        binary(
            into: &bytes, expires: UInt32(truncatingIfNeeded: now + lifetime),
            since: UInt32(truncatingIfNeeded: now), id: id, pf: pf, checks: context == nil ? [] : checks,
            context: context)
    }

    /// The binary nonce (`BIN_NONCE_PREPARE` + `calc_bin_nonce_md5`), built in one buffer.
    private func binary(
        into out: inout NonceBytes, expires: UInt32, since: UInt32, id: UInt32, pf: UInt8, checks: NonceChecks,
        context: MessageContext?
    ) {
        out.removeAll()
        out.appendBigEndian(expires)
        out.appendBigEndian(since)
        let hasID = pf & (Self.ncFlag | Self.oneTimeFlag) != 0
        // nid(4) pf(1) go into the first MD5 after the head and end the nonce.
        var idAndPool: (UInt8, UInt8, UInt8, UInt8, UInt8) = (
            UInt8(id >> 24), UInt8(id >> 16 & 0xff), UInt8(id >> 8 & 0xff), UInt8(id & 0xff), pf
        )
        var h = MD5Hasher()
        h.update(out.bytes)
        if hasID { withUnsafeBytes(of: &idAndPool) { h.update($0) } }
        secret1.withUnsafeBytes { h.update($0) }
        h.finalize { out.append($0) }
        if !checks.isEmpty, let context {
            NonceMD5.digest(extraParts(checks, context) + [secret2[...]]).withUnsafeBytes { out.append($0) }
        }
        if hasID { withUnsafeBytes(of: &idAndPool) { out.append($0) } }
    }

    /// The parts of the request in the second MD5, in Kamailio's order.
    private func extraParts(_ checks: NonceChecks, _ ctx: MessageContext) -> [ArraySlice<UInt8>] {
        var parts: [ArraySlice<UInt8>] = []
        if checks.contains(.fullURI) { parts.append(Array((ctx.requestURI ?? "").utf8)[...]) }
        if checks.contains(.callID), let r = ctx.message.callIDRange { parts.append(ctx.message.buffer[r]) }
        if checks.contains(.fromTag), let from = try? ctx.message.from() {
            if let tag = from.tag(ctx.message.buffer) { parts.append(ctx.message.buffer[tag]) }
        }
        if checks.contains(.sourceIP) { parts.append(ctx.receive.source.addressBytes[...]) }
        return parts
    }

    /// `check_nonce` for the nonce and `nc` of credentials.
    func check(nonce: String, nc: String?, checks: NonceChecks, context: MessageContext, now: Int) -> Check {
        var text = nonce
        return text.withUTF8 { check(nonce: $0, nc: nc, checks: checks, context: context, now: now) }
    }

    /// `check_nonce` of the nonce's bytes (read in place in the message).
    func check(
        nonce text: UnsafeBufferPointer<UInt8>, nc: String?, checks: NonceChecks, context: MessageContext, now: Int
    )
        -> Check
    {
        guard text.count >= 32 else { return .invalid }
        return NonceBytes.withBuffer { b in
            guard b.decodeBase64(text), b.count >= 24, b.count <= 48 else { return .invalid }
            return NonceBytes.withBuffer { expected in
                check(b, &expected, nc: nc, checks: checks, context: context, now: now)
            }
        }
    }

    /// `check_nonce` of the decoded nonce `b`; `expected` is the buffer to rebuild it in.
    private func check(
        _ b: NonceBytes, _ expected: inout NonceBytes, nc: String?, checks: NonceChecks, context: MessageContext,
        now: Int
    ) -> Check {
        let since = Int(b.bigEndian(4))
        if since < upSince.load(ordering: .relaxed) {
            if now < upSince.load(ordering: .relaxed) { upSince.store(now, ordering: .relaxed) }
            if since < now { return .stale }
        }
        if since > now && since - now > maxDrift { return .stale }
        // nid and pf follow the second MD5 when extra checks apply, else the first.
        let idAt = checks.isEmpty ? 24 : 40
        let id = b.count >= idAt + 4 ? b.bigEndian(idAt) : 0
        let pf = b.count > idAt + 4 ? b[idAt + 4] : 0
        // A nonce made without a one-time id while one-time nonces are on (older start).
        if oneTime != nil, pf & Self.oneTimeFlag == 0 { return .stale }
        binary(
            into: &expected, expires: b.bigEndian(0), since: UInt32(since), id: id, pf: pf, checks: checks,
            context: context)
        guard b.equals(expected, 8..<24) else { return .noMatch }
        let pool = Int(pf & Self.poolMask)
        var ncChecked = false
        if let counts, pf & Self.ncFlag != 0, let nc, !nc.isEmpty {
            guard nc.utf8.count == 8, let value = UInt32(nc, radix: 16) else { return .badNC }
            guard counts.check(id, pool: pool, nc: value) == .ok else { return .stale }
            ncChecked = true
        }
        if !ncChecked {
            if let oneTime, pf & Self.oneTimeFlag != 0 {
                guard oneTime.check(id, pool: pool) == .ok else { return .reused }
            }
            if !checks.isEmpty {
                guard b.count == expected.count else { return .noMatch }
                guard b.equals(expected, 24..<40) else { return .extraChecksFailed }
            }
        }
        if Int(b.bigEndian(0)) < now { return .stale }
        return .ok
    }

    /// The wall clock in seconds (Kamailio's `time(0)`).
    static func now() -> Int { Int(time(nil)) }
}
