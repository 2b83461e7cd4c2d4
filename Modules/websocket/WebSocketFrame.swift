import SwiftletSDK

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
    /// Whether every payload byte is below 0x80 (found while unmasking; such a text payload
    /// is valid UTF-8 without decoding it).
    var isASCII = false

    /// A server frame (unmasked, FIN set) carrying `payload`: one allocation of the frame's
    /// size, the header, then the payload. (Not `Array(unsafeUninitializedCapacity:)`: the
    /// standard library does not specialise it, and it looks up the array storage's generic
    /// metadata on every call.)
    static func encode(_ opcode: WebSocketOpcode, _ payload: [UInt8]) -> [UInt8] {
        let head = header(opcode, count: payload.count)
        var out: [UInt8] = []
        out.reserveCapacity(head.count + payload.count)
        head.withUnsafeBytes { out.append(contentsOf: $0) }
        out.append(contentsOf: payload)
        return out
    }

    /// The header of a server frame (FIN set, unmasked) with a payload of `count` bytes.
    static func header(_ opcode: WebSocketOpcode, count n: Int) -> StreamFrameHeader {
        var head = StreamFrameHeader()
        head.append(0x80 | opcode.rawValue)
        if n < 126 {
            head.append(UInt8(n))
        } else if n <= 0xFFFF {
            head.append(126)
            head.append(UInt8(n >> 8))
            head.append(UInt8(n & 0xFF))
        } else {
            head.append(127)
            for shift in stride(from: 56, through: 0, by: -8) {
                head.append(UInt8((UInt64(n) >> UInt64(shift)) & 0xFF))
            }
        }
        return head
    }

    /// A Close frame with `code` and `reason`.
    static func close(_ code: UInt16, _ reason: String) -> [UInt8] {
        encode(.close, [UInt8(code >> 8), UInt8(code & 0xFF)] + Array(reason.utf8))
    }
}

/// Cuts frames out of a connection's byte stream. The bytes of a read are looked at where
/// they are (`received`): only a frame they do not complete is copied, to wait for the rest.
struct WebSocketFrameReader {
    /// Largest payload accepted: Kamailio refuses `payload_len >= BUF_SIZE` (65535).
    static let maxPayload = 65534
    /// The start of a frame whose rest has not arrived yet.
    private var buffer: [UInt8] = []
    /// The bytes of the current read not cut into frames yet, while `buffer` is empty
    /// (valid until `endOfRead`).
    private var chunk = UnsafeRawBufferPointer(start: nil, count: 0)

    /// Adds received bytes (until `endOfRead`, they are read in place when nothing waits).
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if buffer.isEmpty, chunk.isEmpty {
            chunk = bytes
        } else {
            endOfRead()
            buffer.append(contentsOf: bytes)
        }
    }

    /// The bytes given to `append` stop being valid: what was not cut into frames is kept.
    mutating func endOfRead() {
        if !chunk.isEmpty { buffer.append(contentsOf: chunk) }
        chunk = UnsafeRawBufferPointer(start: nil, count: 0)
    }

    /// The next complete frame; nil when more bytes are needed. Throws the close code for a
    /// frame the server must refuse (checked as soon as its header is in, so an oversized
    /// frame is refused before its payload arrives).
    mutating func next() throws(WebSocketFailure) -> WebSocketFrame? {
        if !chunk.isEmpty {
            guard let (frame, total) = try Self.frame(in: chunk) else { return nil }
            chunk = UnsafeRawBufferPointer(rebasing: chunk[total...])
            return frame
        }
        // (Array.withUnsafeBytes rethrows untyped: the failure comes out as a value.)
        let found = buffer.withUnsafeBytes { bytes in
            Result { () throws(WebSocketFailure) in try Self.frame(in: bytes) }
        }
        guard let (frame, total) = try found.get() else { return nil }
        if total == buffer.count {
            buffer.removeAll(keepingCapacity: true)
        } else {
            buffer.removeFirst(total)
        }
        return frame
    }

    /// The frame at the start of `bytes` and its size on the wire; nil when incomplete.
    private static func frame(in bytes: UnsafeRawBufferPointer) throws(WebSocketFailure) -> (WebSocketFrame, Int)? {
        guard bytes.count >= 2 else { return nil }
        let b0 = bytes[0]
        let b1 = bytes[1]
        if b0 & 0x70 != 0 { throw .protocolError }  // RSV1-3
        guard let opcode = WebSocketOpcode(rawValue: b0 & 0x0F) else { throw .unsupportedOpcode }
        if b1 & 0x80 == 0 { throw .protocolError }  // client frames are masked
        let fin = b0 & 0x80 != 0
        var length = Int(b1 & 0x7F)
        var maskStart = 2
        if length == 126 {
            guard bytes.count >= 4 else { return nil }
            length = Int(bytes[2]) << 8 | Int(bytes[3])
            maskStart = 4
        } else if length == 127 {
            guard bytes.count >= 10 else { return nil }
            if bytes[2..<6].contains(where: { $0 != 0 }) { throw .tooBig }
            length = bytes[6..<10].reduce(0) { $0 << 8 | Int($1) }
            maskStart = 10
        }
        if opcode.isControl, length > 125 || !fin { throw .protocolError }
        if length > Self.maxPayload { throw .tooBig }
        let total = maskStart + 4 + length
        guard bytes.count >= total else { return nil }
        let (payload, isASCII) = unmask(bytes, maskAt: maskStart, count: length)
        return (WebSocketFrame(fin: fin, opcode: opcode, payload: payload, isASCII: isASCII), total)
    }
}

extension WebSocketFrameReader {
    /// The `count` payload bytes after the 4-byte mask at `maskAt`, unmasked: copied into an
    /// array of their size, then unmasked in place sixteen bytes at a time with the mask
    /// repeated, the rest byte by byte. (Not `Array(unsafeUninitializedCapacity:)`, which
    /// looks up generic metadata on every call.) Also whether they are all ASCII: the
    /// unmasked words are or-ed together on the way.
    static func unmask(_ src: UnsafeRawBufferPointer, maskAt: Int, count: Int) -> ([UInt8], isASCII: Bool) {
        var payload: [UInt8] = []
        payload.reserveCapacity(count)
        payload.append(contentsOf: UnsafeRawBufferPointer(rebasing: src[(maskAt + 4)..<(maskAt + 4 + count)]))
        let mask = src.loadUnaligned(fromByteOffset: maskAt, as: UInt32.self)
        let wide = UInt64(mask) | UInt64(mask) << 32
        let seen: UInt64 = payload.withUnsafeMutableBytes { buffer in
            guard let p = buffer.baseAddress else { return 0 }
            var i = 0
            var seen: UInt64 = 0
            while i + 16 <= count {
                let a = p.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ wide
                let b = p.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self) ^ wide
                p.storeBytes(of: a, toByteOffset: i, as: UInt64.self)
                p.storeBytes(of: b, toByteOffset: i + 8, as: UInt64.self)
                seen |= a | b
                i += 16
            }
            if i + 8 <= count {
                let a = p.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ wide
                p.storeBytes(of: a, toByteOffset: i, as: UInt64.self)
                seen |= a
                i += 8
            }
            withUnsafeBytes(of: mask) { m in
                while i < count {
                    let a = p.load(fromByteOffset: i, as: UInt8.self) ^ m[i & 3]
                    p.storeBytes(of: a, toByteOffset: i, as: UInt8.self)
                    seen |= UInt64(a)
                    i += 1
                }
            }
            return seen
        }
        return (payload, seen & 0x8080_8080_8080_8080 == 0)
    }
}

extension Array where Element == UInt8 {
    /// Whether the bytes are well-formed UTF-8 (what a text message must be). SIP is mostly
    /// ASCII: 32 bytes at a time (then eight) are checked for a high bit, and only from the first
    /// non-ASCII byte on does the UTF-8 decoder run.
    var isValidUTF8: Bool {
        let firstNonASCII: Int = withUnsafeBytes { raw in
            let n = raw.count
            var i = 0
            while i + 32 <= n {
                let a = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                let b = raw.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self)
                let c = raw.loadUnaligned(fromByteOffset: i + 16, as: UInt64.self)
                let d = raw.loadUnaligned(fromByteOffset: i + 24, as: UInt64.self)
                if (a | b | c | d) & 0x8080_8080_8080_8080 != 0 { break }
                i += 32
            }
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
