/// Header-name classification: the name's bytes are compared with each long name of the
/// same length a machine word (8 bytes) at a time, case-insensitively: each candidate is one
/// `or` with its letters' case bit and one compare per word. (Generated from the list of
/// long names; `-` is compared exactly, so a CR in its place does not match.)
extension HeaderName {
    /// Classifies a header name (case-insensitive). Compact forms map to their long form.
    static func classify(_ bytes: [UInt8], _ range: Range<Int>) -> HeaderName {
        precondition(range.lowerBound >= 0 && range.upperBound <= bytes.count)
        return bytes.withUnsafeBufferPointer { classify($0, range) }
    }

    /// `classify(_:_:)` on the message's bytes (`range` lies inside `b`).
    static func classify(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> HeaderName {
        let n = range.count
        if n == 1 { return compact(ASCII.lower(b[range.lowerBound])) }
        switch n {
        case 2:
            let w0 = word(b, range.lowerBound + 0, 2)
            // to
            if w0 | 0x2020 == 0x6F74 { return .to }
            return .other
        case 3:
            let w0 = word(b, range.lowerBound + 0, 3)
            // via
            if w0 | 0x202020 == 0x616976 { return .via }
            return .other
        case 4:
            let w0 = word(b, range.lowerBound + 0, 4)
            // from
            if w0 | 0x20202020 == 0x6D6F7266 { return .from }
            // cseq
            if w0 | 0x20202020 == 0x71657363 { return .cseq }
            // date
            if w0 | 0x20202020 == 0x65746164 { return .date }
            // path
            if w0 | 0x20202020 == 0x68746170 { return .path }
            // rack
            if w0 | 0x20202020 == 0x6B636172 { return .rack }
            // rseq
            if w0 | 0x20202020 == 0x71657372 { return .rseq }
            return .other
        case 5:
            let w0 = word(b, range.lowerBound + 0, 5)
            // route
            if w0 | 0x2020202020 == 0x6574756F72 { return .route }
            // allow
            if w0 | 0x2020202020 == 0x776F6C6C61 { return .allow }
            // event
            if w0 | 0x2020202020 == 0x746E657665 { return .event }
            return .other
        case 6:
            let w0 = word(b, range.lowerBound + 0, 6)
            // server
            if w0 | 0x202020202020 == 0x726576726573 { return .server }
            // accept
            if w0 | 0x202020202020 == 0x747065636361 { return .accept }
            // min-se
            if w0 | 0x202000202020 == 0x65732D6E696D { return .minSE }
            return .other
        case 7:
            let w0 = word(b, range.lowerBound + 0, 7)
            // call-id
            if w0 | 0x20200020202020 == 0x64692D6C6C6163 { return .callID }
            // contact
            if w0 | 0x20202020202020 == 0x746361746E6F63 { return .contact }
            // expires
            if w0 | 0x20202020202020 == 0x73657269707865 { return .expires }
            // require
            if w0 | 0x20202020202020 == 0x65726975716572 { return .require }
            // privacy
            if w0 | 0x20202020202020 == 0x79636176697270 { return .privacy }
            // subject
            if w0 | 0x20202020202020 == 0x7463656A627573 { return .subject }
            // warning
            if w0 | 0x20202020202020 == 0x676E696E726177 { return .warning }
            return .other
        case 8:
            let w0 = word(b, range.lowerBound + 0, 8)
            // identity
            if w0 | 0x2020202020202020 == 0x797469746E656469 { return .identity }
            // priority
            if w0 | 0x2020202020202020 == 0x797469726F697270 { return .priority }
            // refer-to
            if w0 | 0x2020002020202020 == 0x6F742D7265666572 { return .referTo }
            // reply-to
            if w0 | 0x2020002020202020 == 0x6F742D796C706572 { return .replyTo }
            return .other
        case 9:
            let w0 = word(b, range.lowerBound + 0, 8)
            let w1 = word(b, range.lowerBound + 8, 1)
            // supported
            if w0 | 0x2020202020202020 == 0x6574726F70707573 && w1 | 0x20 == 0x64 { return .supported }
            // call-info
            if w0 | 0x2020200020202020 == 0x666E692D6C6C6163 && w1 | 0x20 == 0x6F { return .callInfo }
            // diversion
            if w0 | 0x2020202020202020 == 0x6F69737265766964 && w1 | 0x20 == 0x6E { return .diversion }
            // timestamp
            if w0 | 0x2020202020202020 == 0x6D617473656D6974 && w1 | 0x20 == 0x70 { return .timestamp }
            return .other
        case 10:
            let w0 = word(b, range.lowerBound + 0, 8)
            let w1 = word(b, range.lowerBound + 8, 2)
            // user-agent
            if w0 | 0x2020200020202020 == 0x6567612D72657375 && w1 | 0x2020 == 0x746E { return .userAgent }
            // alert-info
            if w0 | 0x2020002020202020 == 0x6E692D7472656C61 && w1 | 0x2020 == 0x6F66 { return .alertInfo }
            // error-info
            if w0 | 0x2020002020202020 == 0x6E692D726F727265 && w1 | 0x2020 == 0x6F66 { return .errorInfo }
            return .other
        case 11:
            let w0 = word(b, range.lowerBound + 0, 8)
            let w1 = word(b, range.lowerBound + 8, 3)
            // in-reply-to
            if w0 | 0x2020202020002020 == 0x796C7065722D6E69 && w1 | 0x202000 == 0x6F742D { return .inReplyTo }
            // min-expires
            if w0 | 0x2020202000202020 == 0x697078652D6E696D && w1 | 0x202020 == 0x736572 { return .minExpires }
            // referred-by
            if w0 | 0x2020202020202020 == 0x6465727265666572 && w1 | 0x202000 == 0x79622D { return .referredBy }
            // retry-after
            if w0 | 0x2020002020202020 == 0x66612D7972746572 && w1 | 0x202020 == 0x726574 { return .retryAfter }
            // unsupported
            if w0 | 0x2020202020202020 == 0x726F707075736E75 && w1 | 0x202020 == 0x646574 { return .unsupported }
            return .other
        case 12:
            let w0 = word(b, range.lowerBound + 0, 8)
            let w1 = word(b, range.lowerBound + 8, 4)
            // max-forwards
            if w0 | 0x2020202000202020 == 0x77726F662D78616D && w1 | 0x20202020 == 0x73647261 { return .maxForwards }
            // content-type
            if w0 | 0x20202020202020 == 0x2D746E65746E6F63 && w1 | 0x20202020 == 0x65707974 { return .contentType }
            // record-route
            if w0 | 0x2000202020202020 == 0x722D64726F636572 && w1 | 0x20202020 == 0x6574756F { return .recordRoute }
            // allow-events
            if w0 | 0x2020002020202020 == 0x76652D776F6C6C61 && w1 | 0x20202020 == 0x73746E65 { return .allowEvents }
            // mime-version
            if w0 | 0x2020200020202020 == 0x7265762D656D696D && w1 | 0x20202020 == 0x6E6F6973 { return .mimeVersion }
            // organization
            if w0 | 0x2020202020202020 == 0x617A696E6167726F && w1 | 0x20202020 == 0x6E6F6974 { return .organization }
            return .other
        case 13:
            let w0 = word(b, range.lowerBound + 0, 8)
            let w1 = word(b, range.lowerBound + 8, 5)
            if w0 | 0x2020202020202020 == 0x7A69726F68747561 && w1 | 0x2020202020 == 0x6E6F697461 {
                return .authorization
            }  // authorization
            if w0 | 0x2020202020202020 == 0x797469746E656469 && w1 | 0x2020202000 == 0x6F666E692D {
                return .identityInfo
            }  // identity-info
            if w0 | 0x2020002020202020 == 0x65722D79786F7270 && w1 | 0x2020202020 == 0x6572697571 {
                return .proxyRequire
            }  // proxy-require
            // service-route
            if w0 | 0x20202020202020 == 0x2D65636976726573 && w1 | 0x2020202020 == 0x6574756F72 { return .serviceRoute }
            return .other
        case 14:
            let w0 = word(b, range.lowerBound + 0, 8)
            let w1 = word(b, range.lowerBound + 8, 6)
            if w0 | 0x20202020202020 == 0x2D746E65746E6F63 && w1 | 0x202020202020 == 0x6874676E656C {
                return .contentLength
            }  // content-length
            if w0 | 0x2000202020202020 == 0x632D747065636361 && w1 | 0x202020202020 == 0x746361746E6F {
                return .acceptContact
            }  // accept-contact
            if w0 | 0x2000202020202020 == 0x632D7463656A6572 && w1 | 0x202020202020 == 0x746361746E6F {
                return .rejectContact
            }  // reject-contact
            return .other
        case 15:
            let w0 = word(b, range.lowerBound + 0, 8)
            let w1 = word(b, range.lowerBound + 8, 7)
            if w0 | 0x2000202020202020 == 0x652D747065636361 && w1 | 0x20202020202020 == 0x676E69646F636E {
                return .acceptEncoding
            }  // accept-encoding
            if w0 | 0x2000202020202020 == 0x6C2D747065636361 && w1 | 0x20202020202020 == 0x65676175676E61 {
                return .acceptLanguage
            }  // accept-language
            if w0 | 0x20202020202020 == 0x2D6E6F6973736573 && w1 | 0x20202020202020 == 0x73657269707865 {
                return .sessionExpires
            }  // session-expires
            return .other
        case 16:
            let w0 = word(b, range.lowerBound + 0, 8)
            let w1 = word(b, range.lowerBound + 8, 8)
            if w0 | 0x20202020202020 == 0x2D746E65746E6F63 && w1 | 0x2020202020202020 == 0x676E69646F636E65 {
                return .contentEncoding
            }  // content-encoding
            if w0 | 0x20202020202020 == 0x2D746E65746E6F63 && w1 | 0x2020202020202020 == 0x65676175676E616C {
                return .contentLanguage
            }  // content-language
            if w0 | 0x2020202000202020 == 0x687475612D777777 && w1 | 0x2020202020202020 == 0x6574616369746E65 {
                return .wwwAuthenticate
            }  // www-authenticate
            return .other
        case 18:
            let w0 = word(b, range.lowerBound + 0, 8)
            let w1 = word(b, range.lowerBound + 8, 8)
            let w2 = word(b, range.lowerBound + 16, 2)
            if w0 | 0x2020002020202020 == 0x75612D79786F7270 && w1 | 0x2020202020202020 == 0x616369746E656874
                && w2 | 0x2020 == 0x6574
            {
                return .proxyAuthenticate
            }  // proxy-authenticate
            if w0 | 0x2020202020202020 == 0x7069726373627573 && w1 | 0x2020200020202020 == 0x6174732D6E6F6974
                && w2 | 0x2020 == 0x6574
            {
                return .subscriptionState
            }  // subscription-state
            return .other
        case 19:
            let w0 = word(b, range.lowerBound + 0, 8)
            let w1 = word(b, range.lowerBound + 8, 8)
            let w2 = word(b, range.lowerBound + 16, 3)
            if w0 | 0x2020202020202020 == 0x69746E6568747561 && w1 | 0x2000202020202020 == 0x692D6E6F69746163
                && w2 | 0x202020 == 0x6F666E
            {
                return .authenticationInfo
            }  // authentication-info
            if w0 | 0x20202020202020 == 0x2D746E65746E6F63 && w1 | 0x2020202020202020 == 0x7469736F70736964
                && w2 | 0x202020 == 0x6E6F69
            {
                return .contentDisposition
            }  // content-disposition
            if w0 | 0x2020202020200020 == 0x7472657373612D70 && w1 | 0x2020202020002020 == 0x746E6564692D6465
                && w2 | 0x202020 == 0x797469
            {
                return .pAssertedIdentity
            }  // p-asserted-identity
            if w0 | 0x2020002020202020 == 0x75612D79786F7270 && w1 | 0x2020202020202020 == 0x74617A69726F6874
                && w2 | 0x202020 == 0x6E6F69
            {
                return .proxyAuthorization
            }  // proxy-authorization
            if w0 | 0x20202020202020 == 0x2D74736575716572 && w1 | 0x2020202020202020 == 0x7469736F70736964
                && w2 | 0x202020 == 0x6E6F69
            {
                return .requestDisposition
            }  // request-disposition
            return .other
        case 20:
            let w0 = word(b, range.lowerBound + 0, 8)
            let w1 = word(b, range.lowerBound + 8, 8)
            let w2 = word(b, range.lowerBound + 16, 4)
            if w0 | 0x2020202020200020 == 0x7265666572702D70 && w1 | 0x2020202000202020 == 0x6E6564692D646572
                && w2 | 0x20202020 == 0x79746974
            {
                return .pPreferredIdentity
            }  // p-preferred-identity
            return .other
        default:
            return .other
        }

    }

    /// The `count` (1-8) bytes of `b` at `offset` as a little-endian word, the bytes above
    /// them zero. Reads one unaligned word that lies inside `b` (the bytes after or before
    /// the wanted ones), or the bytes one by one when `b` is shorter than a word.
    @inline(__always)
    static func word(_ b: UnsafeBufferPointer<UInt8>, _ offset: Int, _ count: Int) -> UInt64 {
        let raw = UnsafeRawPointer(b.baseAddress!)
        if offset + 8 <= b.count {
            let w = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            return count == 8 ? w : w & ((1 &<< UInt64(8 * count)) &- 1)
        }
        if offset + count >= 8 {
            let w = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset + count - 8, as: UInt64.self))
            return w &>> UInt64(8 * (8 - count))
        }
        var w: UInt64 = 0
        for k in 0..<count { w |= UInt64(b[offset + k]) &<< UInt64(8 * k) }
        return w
    }
}
