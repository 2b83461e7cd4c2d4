import SwiftletSDK

/// One comma-separated value of a header field, as Kamailio's `find_next_value` finds it.
struct HeaderValue {
    /// The header field holding it.
    let field: HeaderField
    /// The field's value (Kamailio's `hf->body`), see `body(of:in:)`.
    let body: Range<Int>
    /// The value without surrounding whitespace.
    let value: Range<Int>
    /// What removing the value removes: from the end of the previous value's comma (leading
    /// whitespace included) to and including its own comma.
    let lumpRange: Range<Int>

    /// The values of `field`, split at commas outside double quotes (a `\"` inside quotes
    /// does not end them). A comma at the very end starts no value.
    static func values(of field: HeaderField, in b: [UInt8]) -> [HeaderValue] {
        let body = body(of: field, in: b)
        let end = body.upperBound
        var p = body.lowerBound
        var out: [HeaderValue] = []
        while true {
            let lumpStart = p
            while p < end, HeaderValueSelector.isSpace(b[p]) { p += 1 }
            let start = p
            var quoted = false
            while p < end, b[p] != UInt8(ascii: ",") || quoted {
                if b[p] == UInt8(ascii: "\""), !quoted || b[p - 1] != UInt8(ascii: "\\") { quoted.toggle() }
                p += 1
            }
            var valueEnd = p
            while valueEnd > start, HeaderValueSelector.isSpace(b[valueEnd - 1]) { valueEnd -= 1 }
            if p < end { p += 1 }
            out.append(HeaderValue(field: field, body: body, value: start..<valueEnd, lumpRange: lumpStart..<p))
            if p >= end { return out }
        }
    }

    /// The value of `field`; an empty one sits right after the colon and the spaces that
    /// follow it, where Kamailio's parser puts it.
    static func body(of field: HeaderField, in b: [UInt8]) -> Range<Int> {
        guard field.valueRange.isEmpty else { return field.valueRange }
        var p = field.nameRange.upperBound
        while p < field.lineRange.upperBound, b[p] != UInt8(ascii: ":") { p += 1 }
        if p < field.lineRange.upperBound { p += 1 }
        while p < field.lineRange.upperBound, b[p] == 32 || b[p] == 9 { p += 1 }
        return p..<p
    }

    /// Every value of every header `selector` names, in message order.
    static func values(_ selector: HeaderValueSelector, in msg: SIPMessage) -> [HeaderValue] {
        selector.fields(msg).flatMap { values(of: $0, in: msg.buffer) }
    }

    /// The value at a 1-based `index` counted from the first value (or, negative, from the
    /// last) over all the headers, as Kamailio's `find_hf_value_idx`; nil when there are
    /// fewer values.
    static func value(at index: Int, _ selector: HeaderValueSelector, in msg: SIPMessage) -> HeaderValue? {
        let all = values(selector, in: msg)
        let position = index > 0 ? index - 1 : all.count + index
        return all.indices.contains(position) ? all[position] : nil
    }

    /// The range removing this value deletes (Kamailio's `adjust_lump_val_for_delete` and
    /// `delete_value_lump`): the last value of a header takes the comma before it with it; a
    /// value that is the whole header value removes the header line.
    var deletion: Range<Int> {
        var r = lumpRange
        if r.upperBound == body.upperBound, r.lowerBound > body.lowerBound { r = (r.lowerBound - 1)..<r.upperBound }
        return r == body ? field.lineRange : r
    }
}
