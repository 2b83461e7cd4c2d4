import SwiftletSDK

/// `ladder_handle()`: answers the HTTP requests under `http_prefix` in
/// `event_route[xhttp:request]`:
///
/// * `<prefix>` and `<prefix>/`: the page (HTML and JavaScript in one document);
/// * `<prefix>/api/calls?since=N&callid=..&user=..&ip=..&limit=..`: the calls as JSON; with
///   `since` equal to the current cursor, just `{"cursor":N,"changed":false}`;
/// * `<prefix>/api/call/<callid>` (URL-encoded): one call's messages with their text.
///
/// Returns 1 when it answered, -1 when the URL is not under the prefix (the route goes on)
/// or the reply could not be sent.
extension LadderModule {
    func handle(_ ctx: MessageContext) -> Int {
        guard let url = ctx.message.httpURL, let index, let xhttp else {
            if xhttp == nil { Log.error("ladder", "ladder_handle() needs the xhttp module") }
            return -1
        }
        let (path, query) = Self.split(url)
        guard path == prefix || path.hasPrefix(prefix + "/") else { return -1 }
        let rest = String(path.dropFirst(prefix.count))
        let method = ctx.message.methodText
        guard method == "GET" else {
            return send(xhttp, ctx, 405, "Method Not Allowed", "text/plain", "GET only\n")
        }
        switch rest {
        case "", "/", "/index.html":
            return send(
                xhttp, ctx, 200, "OK", "text/html; charset=utf-8",
                LadderPage.html(prefix: prefix, refreshMillis: refreshMillis))
        case "/api/calls":
            var filter = CallFilter()
            filter.callID = query["callid"] ?? ""
            filter.user = query["user"] ?? ""
            filter.ip = query["ip"] ?? ""
            let limit = query["limit"].flatMap { Int($0) } ?? maxCalls
            let since = query["since"].flatMap { UInt64($0) }
            if let since, since == index.ring.newest, since >= index.ring.cleared {
                return send(
                    xhttp, ctx, 200, "OK", "application/json",
                    LadderJSON.calls([], cursor: since, changed: false, local: []))
            }
            let (calls, cursor) = index.calls(filter, limit: min(limit, maxCalls))
            return send(
                xhttp, ctx, 200, "OK", "application/json",
                LadderJSON.calls(calls, cursor: cursor, changed: true, local: localAddresses))
        case let r where r.hasPrefix("/api/call/"):
            let callID = Self.percentDecoded(String(r.dropFirst("/api/call/".count)))
            let (messages, cursor) = index.messages(ofCall: callID)
            guard !messages.isEmpty else {
                return send(xhttp, ctx, 404, "Not Found", "application/json", "{\"error\":\"no such call\"}")
            }
            return send(
                xhttp, ctx, 200, "OK", "application/json",
                LadderJSON.callDetail(callID, messages, cursor: cursor, local: localAddresses))
        default:
            return send(xhttp, ctx, 404, "Not Found", "text/plain", "not found\n")
        }
    }

    private func send(
        _ xhttp: HTTPReplyAPI, _ ctx: MessageContext, _ code: Int, _ reason: String, _ type: String, _ body: String
    ) -> Int {
        xhttp.reply(ctx, code: code, reason: reason, contentType: type, body: Array(body.utf8)) ? 1 : -1
    }

    /// The path and the decoded query parameters of a request URL.
    static func split(_ url: String) -> (path: String, query: [String: String]) {
        guard let q = url.firstIndex(of: "?") else { return (url, [:]) }
        var query: [String: String] = [:]
        for pair in url[url.index(after: q)...].split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            let key = percentDecoded(String(kv[0]))
            query[key] = kv.count > 1 ? percentDecoded(String(kv[1])) : ""
        }
        return (String(url[..<q]), query)
    }

    /// `%XX` decoded (a bad escape stays as it is; `+` stays a plus, as Call-IDs may have one).
    static func percentDecoded(_ s: String) -> String {
        var out: [UInt8] = []
        let b = Array(s.utf8)
        var i = 0
        while i < b.count {
            if b[i] == 37, i + 2 < b.count, let h = hex(b[i + 1]), let l = hex(b[i + 2]) {
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 65...70: c - 55
        case 97...102: c - 87
        default: nil
        }
    }
}
