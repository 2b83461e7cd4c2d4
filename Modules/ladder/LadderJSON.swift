import SwiftletSDK

/// The JSON documents of the ladder API (`/api/calls`, `/api/call/<callid>`), written by hand:
/// a few fixed shapes, no encoder needed.
enum LadderJSON {
    /// `s` as a JSON string literal.
    static func string(_ s: String) -> String {
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<": out += "\\u003c"  // safe inside HTML too
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }

    static func strings(_ a: [String]) -> String { "[" + a.map(string).joined(separator: ",") + "]" }

    /// One call of the list.
    static func call(_ c: CallSummary) -> String {
        "{\"callid\":\(string(c.callID)),\"from_user\":\(string(c.fromUser)),\"to_user\":\(string(c.toUser)),"
            + "\"method\":\(string(c.method)),\"last\":\(string(c.lastLabel)),\"final_code\":\(c.finalCode),"
            + "\"first_us\":\(c.firstMicros),\"last_us\":\(c.lastMicros),\"seq\":\(c.lastSeq),"
            + "\"count\":\(c.count),\"parties\":\(strings(c.parties))}"
    }

    /// `{"cursor":N,"changed":true,"local":[...],"calls":[...]}`; with `changed` false no calls
    /// (nothing happened since the cursor the page sent).
    static func calls(_ calls: [CallSummary], cursor: UInt64, changed: Bool, local: [String]) -> String {
        guard changed else { return "{\"cursor\":\(cursor),\"changed\":false}" }
        return "{\"cursor\":\(cursor),\"changed\":true,\"local\":\(strings(local)),\"calls\":["
            + calls.map(call).joined(separator: ",") + "]}"
    }

    /// One message of a call, with its text.
    static func message(_ m: MessageSummary) -> String {
        let w = m.wire
        return "{\"seq\":\(w.seq),\"time_us\":\(w.timeMicros),\"src\":\(string(w.source)),"
            + "\"dst\":\(string(w.destination)),\"proto\":\(string(w.proto.name)),"
            + "\"dir\":\(w.received ? "\"in\"" : "\"out\""),\"label\":\(string(m.label)),"
            + "\"method\":\(string(m.method)),\"code\":\(m.code),\"cseq\":\(string(m.cseq)),"
            + "\"length\":\(w.wireLength),\"truncated\":\(w.bytes.count < w.wireLength),"
            + "\"text\":\(string(String(decoding: w.bytes, as: UTF8.self)))}"
    }

    /// `{"callid":...,"cursor":N,"parties":[...],"local":[...],"messages":[...]}`
    static func callDetail(_ callID: String, _ messages: [MessageSummary], cursor: UInt64, local: [String]) -> String {
        "{\"callid\":\(string(callID)),\"cursor\":\(cursor),\"parties\":\(strings(LadderIndex.parties(messages))),"
            + "\"local\":\(strings(local)),\"messages\":[" + messages.map(message).joined(separator: ",") + "]}"
    }
}
