/// RFC 6455 frames as the websocket module reads and writes them (Kamailio's
/// `ws_frame.c`): received frames must be masked (a server), a message is at most
/// Kamailio's BUF_SIZE, and what is sent is unmasked.
enum WebSocketOpcode: UInt8 {
    case continuation = 0x0, text = 0x1, binary = 0x2, close = 0x8, ping = 0x9, pong = 0xa

    var isControl: Bool { rawValue >= 0x8 }
}

/// Why a connection is failed: the close code and reason sent in the Close frame.
struct WebSocketFailure: Error, Equatable {
    let code: UInt16
    let reason: String

    static let protocolError = WebSocketFailure(code: 1002, reason: "Protocol error")
    static let unsupportedOpcode = WebSocketFailure(code: 1008, reason: "Unsupported opcode")
    static let tooBig = WebSocketFailure(code: 1009, reason: "Message too big")
    /// RFC 6455 section 8.1: a text message that is not UTF-8 (Kamailio does not check).
    static let invalidPayload = WebSocketFailure(code: 1007, reason: "Invalid frame payload data")
}

/// One decoded frame, payload unmasked.
struct WebSocketFrame {
    let fin: Bool
    let opcode: WebSocketOpcode
    let payload: [UInt8]

    /// A server frame (unmasked, FIN set) carrying `payload`.
    static func encode(_ opcode: WebSocketOpcode, _ payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(payload.count + 10)
        out.append(0x80 | opcode.rawValue)
        let n = payload.count
        if n < 126 {
            out.append(UInt8(n))
        } else if n <= 0xFFFF {
            out += [126, UInt8(n >> 8), UInt8(n & 0xFF)]
        } else {
            out.append(127)
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8((UInt64(n) >> UInt64(shift)) & 0xFF)) }
        }
        out += payload
        return out
    }

    /// A Close frame with `code` and `reason`.
    static func close(_ code: UInt16, _ reason: String) -> [UInt8] {
        encode(.close, [UInt8(code >> 8), UInt8(code & 0xFF)] + Array(reason.utf8))
    }
}

/// Cuts frames out of a connection's byte stream.
struct WebSocketFrameReader {
    /// Largest payload accepted: Kamailio refuses `payload_len >= BUF_SIZE` (65535).
    static let maxPayload = 65534
    private var buffer: [UInt8] = []

    mutating func append(_ bytes: UnsafeRawBufferPointer) { buffer.append(contentsOf: bytes) }

    /// The next complete frame; nil when more bytes are needed. Throws the close code for a
    /// frame the server must refuse (checked as soon as its header is in, so an oversized
    /// frame is refused before its payload arrives).
    mutating func next() throws(WebSocketFailure) -> WebSocketFrame? {
        guard buffer.count >= 2 else { return nil }
        let b0 = buffer[0]
        let b1 = buffer[1]
        if b0 & 0x70 != 0 { throw .protocolError }  // RSV1-3
        guard let opcode = WebSocketOpcode(rawValue: b0 & 0x0F) else { throw .unsupportedOpcode }
        if b1 & 0x80 == 0 { throw .protocolError }  // client frames are masked
        let fin = b0 & 0x80 != 0
        var length = Int(b1 & 0x7F)
        var maskStart = 2
        if length == 126 {
            guard buffer.count >= 4 else { return nil }
            length = Int(buffer[2]) << 8 | Int(buffer[3])
            maskStart = 4
        } else if length == 127 {
            guard buffer.count >= 10 else { return nil }
            if buffer[2..<6].contains(where: { $0 != 0 }) { throw .tooBig }
            length = buffer[6..<10].reduce(0) { $0 << 8 | Int($1) }
            maskStart = 10
        }
        if opcode.isControl, length > 125 || !fin { throw .protocolError }
        if length > Self.maxPayload { throw .tooBig }
        let total = maskStart + 4 + length
        guard buffer.count >= total else { return nil }
        let payload = Self.unmask(buffer, maskAt: maskStart, count: length)
        buffer.removeFirst(total)
        return WebSocketFrame(fin: fin, opcode: opcode, payload: payload)
    }
}

extension WebSocketFrameReader {
    /// The `count` payload bytes after the 4-byte mask at `maskAt`, unmasked (eight bytes at
    /// a time with the mask repeated, then the rest byte by byte).
    static func unmask(_ frame: [UInt8], maskAt: Int, count: Int) -> [UInt8] {
        frame.withUnsafeBytes { src in
            let mask = src.loadUnaligned(fromByteOffset: maskAt, as: UInt32.self)
            let wide = UInt64(mask) | UInt64(mask) << 32
            let start = maskAt + 4
            return [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
                let dst = UnsafeMutableRawBufferPointer(out)
                var i = 0
                while i + 8 <= count {
                    dst.storeBytes(
                        of: src.loadUnaligned(fromByteOffset: start + i, as: UInt64.self) ^ wide, toByteOffset: i,
                        as: UInt64.self)
                    i += 8
                }
                while i < count {
                    dst[i] = src[start + i] ^ src[maskAt + (i & 3)]
                    i += 1
                }
                initialized = count
            }
        }
    }
}

extension Array where Element == UInt8 {
    /// Whether the bytes are well-formed UTF-8 (what a text message must be). SIP is mostly
    /// ASCII: eight bytes at a time are checked for a high bit, and only from the first
    /// non-ASCII byte on does the UTF-8 decoder run.
    var isValidUTF8: Bool {
        let firstNonASCII: Int = withUnsafeBytes { raw in
            let n = raw.count
            var i = 0
            while i + 8 <= n {
                if raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { break }
                i += 8
            }
            while i < n, raw[i] < 0x80 { i += 1 }
            return i
        }
        if firstNonASCII == count { return true }
        var it = self[firstNonASCII...].makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&it) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }
}
