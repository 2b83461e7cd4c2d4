/// Why a received buffer is not a SIP message we can process.
///
/// Each case names the first defect found; `offset` is the byte offset in the buffer.
public struct SIPParseError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The kind of defect.
    public enum Reason: String, Sendable {
        case empty = "empty message"
        case badFirstLine = "malformed first line"
        case badVersion = "unsupported SIP version"
        case badStatusCode = "malformed status code"
        case badHeader = "malformed header line"
        case badVia = "malformed Via header"
        case badNameAddr = "malformed name-addr header"
        case badURI = "malformed URI"
        case badNumber = "malformed number"
        case badCredentials = "malformed credentials"
        case badContentType = "malformed Content-Type header"
        case badBody = "malformed body"
        case missingContentLength = "stream message without Content-Length"
        case tooLarge = "message too large"
        case badCSeq = "malformed CSeq header"
        case badContentLength = "malformed Content-Length header"
        case truncatedBody = "body shorter than Content-Length"
    }

    public let reason: Reason
    public let offset: Int

    public init(_ reason: Reason, at offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    public var description: String { "\(reason.rawValue) at byte \(offset)" }
}
