import SwiftletSDK

/// Kamailio's binrpc wire format (`modules/ctl/binrpc.h`): a header (magic/version, message
/// type, body length, cookie) and a body of typed records. This is the server side: it
/// reads requests and writes replies and faults.
enum BinRPC {
    static let magicVersion: UInt8 = 0xA1
    static let request = 0
    static let reply = 1
    static let fault = 3

    static let typeInt: UInt8 = 0
    static let typeString: UInt8 = 1
    static let typeDouble: UInt8 = 2
    static let typeStruct: UInt8 = 3
    static let typeArray: UInt8 = 4
    static let typeAVP: UInt8 = 5
    static let typeBytes: UInt8 = 6

    /// Kamailio's `binrpc_error()` texts, indexed by `-code`.
    enum Failure: Int, Error {
        case overflow = 2, badPacket = 3, moreData = 4, endOfPacket = 5, typeMismatch = 7, badRecord = 8

        var text: String {
            switch self {
            case .overflow: "buffer too small (overflow)"
            case .badPacket: "corrupted packet"
            case .moreData: "more data needed"
            case .endOfPacket: "end of packet encountered"
            case .typeMismatch: "record doesn't match type"
            case .badRecord: "bad record"
            }
        }
    }

    /// A parsed header: message type, body length, cookie, and where the body starts.
    struct Header {
        let type: Int
        let bodyLength: Int
        let cookie: UInt32
        let headerLength: Int
    }

    /// Parses the header at the start of `bytes`; `.moreData` when it is incomplete.
    static func parseHeader(_ bytes: ArraySlice<UInt8>) throws(Failure) -> Header {
        let b = bytes.startIndex
        guard bytes.count >= 4 else { throw .moreData }
        guard bytes[b] == magicVersion else { throw .badPacket }
        let type = Int(bytes[b + 1] >> 4)
        guard type == request || type == reply || type == fault else { throw .badPacket }
        let lengthLength = Int((bytes[b + 1] >> 2) & 3) + 1
        let cookieLength = Int(bytes[b + 1] & 3) + 1
        guard bytes.count >= 2 + lengthLength + cookieLength else { throw .moreData }
        var length = 0
        for i in 0..<lengthLength { length = length << 8 | Int(bytes[b + 2 + i]) }
        var cookie: UInt32 = 0
        for i in 0..<cookieLength { cookie = cookie << 8 | UInt32(bytes[b + 2 + lengthLength + i]) }
        return Header(type: type, bodyLength: length, cookie: cookie, headerLength: 2 + lengthLength + cookieLength)
    }

    /// The minimal big-endian bytes of `value` (none for 0), as `binrpc_write_int`.
    static func minimalBytes(_ value: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        var v = value
        while v != 0 {
            out.insert(UInt8(v & 0xff), at: 0)
            v >>= 8
        }
        return out
    }

    /// The header of a reply or fault with a body of `bodyLength` bytes (`binrpc_build_hdr`).
    static func header(type: Int, bodyLength: Int, cookie: UInt32) -> [UInt8] {
        var length = minimalBytes(UInt64(UInt32(truncatingIfNeeded: bodyLength)))
        if length.isEmpty { length = [0] }
        var c = minimalBytes(UInt64(cookie))
        if c.isEmpty { c = [0] }
        return [magicVersion, UInt8(type << 4 | (length.count - 1) << 2 | (c.count - 1))] + length + c
    }

    /// A fault message: the code and the text (`_rpc_fault`: the text's length counts its
    /// terminating zero, as `vsnprintf` + 1 in Kamailio).
    static func faultMessage(code: Int, message: String, cookie: UInt32) -> [UInt8] {
        var body = BinRPCWriter()
        body.int(Int32(truncatingIfNeeded: code))
        body.string(String(message.utf8.prefix(255)) ?? message)
        return header(type: fault, bodyLength: body.bytes.count, cookie: cookie) + body.bytes
    }
}

/// Appends binrpc records to a body (`binrpc_add_*`).
struct BinRPCWriter {
    var bytes: [UInt8] = []

    /// An integer record: size in the high nibble, minimal big-endian value.
    mutating func int(_ value: Int32) {
        let v = BinRPC.minimalBytes(UInt64(UInt32(bitPattern: value)))
        bytes.append(UInt8(v.count << 4) | BinRPC.typeInt)
        bytes += v
    }

    /// A double as Kamailio writes it: fixed point, the value times 1000 as a long long.
    mutating func double(_ value: Double) {
        let x = value * 1000
        let scaled: Int64 = x.isNaN ? 0 : x >= 9.2e18 ? .max : x <= -9.2e18 ? .min : Int64(x)
        let v = BinRPC.minimalBytes(UInt64(bitPattern: scaled))
        bytes.append(UInt8(v.count << 4) | BinRPC.typeDouble)
        bytes += v
    }

    /// A zero-terminated string (or an AVP name, `typeAVP`): lengths up to 7 live in the
    /// high nibble, longer ones follow it (flag 8 + length of the length).
    mutating func string(_ s: String, type: UInt8 = BinRPC.typeString) {
        let utf8 = Array(s.utf8)
        mark(type: type, length: utf8.count + 1)
        bytes += utf8
        bytes.append(0)
    }

    private mutating func mark(type: UInt8, length: Int) {
        if length < 8 {
            bytes.append(UInt8(length << 4) | type)
        } else {
            let l = BinRPC.minimalBytes(UInt64(length))
            bytes.append(UInt8((l.count | 8) << 4) | type)
            bytes += l
        }
    }

    /// The start (`0x03`) or end (`0x83`) of a struct; Kamailio's ctl writes arrays as structs.
    mutating func structTag(end: Bool) { bytes.append((end ? 0x80 : 0) | BinRPC.typeStruct) }
}

/// Reads the records of a request body (`binrpc_read_record`).
struct BinRPCReader {
    let bytes: [UInt8]
    var position: Int
    let end: Int

    var atEnd: Bool { position >= end }

    /// The next record as a value: int, string, bytes or double. A struct or array is not
    /// a parameter Kamailio's `rpc->scan` can read.
    mutating func next() throws(BinRPC.Failure) -> RPCValue {
        guard position < end else { throw .endOfPacket }
        let tag = bytes[position]
        let type = tag & 0xf
        var length = Int(tag >> 4)
        var p = position + 1
        if type != BinRPC.typeDouble, length & 8 != 0 {
            let n = length & 7
            guard p + n <= end else { throw .moreData }
            length = 0
            for i in 0..<n { length = length << 8 | Int(bytes[p + i]) }
            p += n
        }
        guard p + length <= end else { throw .moreData }
        let field = bytes[p..<(p + length)]
        position = p + length
        switch type {
        case BinRPC.typeInt:
            var u: UInt32 = 0
            for b in field { u = u << 8 | UInt32(b) }
            return .int(Int(Int32(bitPattern: u)))
        case BinRPC.typeDouble:
            var u: UInt64 = 0
            for b in field { u = u << 8 | UInt64(b) }
            return .double(Double(Int64(bitPattern: u)) / 1000)
        case BinRPC.typeString:
            return .string(String(decoding: field.dropLast(field.last == 0 ? 1 : 0), as: UTF8.self))
        case BinRPC.typeBytes:
            return .string(String(decoding: field, as: UTF8.self))
        case BinRPC.typeStruct, BinRPC.typeArray, BinRPC.typeAVP:
            throw .badRecord
        default:
            throw .typeMismatch
        }
    }
}
