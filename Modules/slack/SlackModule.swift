import SwiftletSDK

/// The `slack` module: `slack_send(text)` posts a message to a Slack incoming webhook
/// (`slack_url`) through http_client's API, as Kamailio's slack module does.
final class SlackModule {
    /// Kamailio's SLACK_URL_MAX_SIZE.
    static let maximumURLLength = 128
    /// Kamailio's buf_size: the longest text after evaluating the variables.
    static let maximumTextLength = 4096

    var url: String?
    var channel = "#webtest"
    var username = "webhookbot"
    var iconEmoji = ":ghost:"
    var http: HTTPClientAPI?

    var exports: ModuleExports {
        let e = ModuleExports(name: "slack")
        e.parameters = [
            ModuleParameter("slack_url", .string { (v: String) throws(FixupError) in self.url = try Self.checkURL(v) }),
            ModuleParameter("channel", .string { (v: String) throws(FixupError) in self.channel = v }),
            ModuleParameter("username", .string { (v: String) throws(FixupError) in self.username = v }),
            ModuleParameter("icon_emoji", .string { (v: String) throws(FixupError) in self.iconEmoji = v }),
        ]
        e.functions = [
            ScriptFunction("slack_send", parameters: 1, routes: .any) { args throws(FixupError) in
                let text = try args[0].stringFormat()
                return { ctx in self.send(text.render(ctx), ctx) }
            }
        ]
        e.initialize = { context in
            Log.info("slack", "slack module init")
            self.http = try context.requireAPI(HTTPClientAPI.self, by: "slack", from: "http_client")
        }
        return e
    }

    /// Kamailio's `_slack_parse_url_param`: at most 128 characters, starting with
    /// `https://hooks.slack.com`.
    static func checkURL(_ v: String) throws(FixupError) -> String {
        guard v.utf8.count <= maximumURLLength else {
            throw FixupError("slack: webhook url max size exceeded \(maximumURLLength)")
        }
        guard v.hasPrefix("https://hooks.slack.com") else { throw FixupError("slack: invalid webhook url [\(v)]") }
        return v
    }

    /// The JSON body Kamailio sends (BODY_FMT), with every value escaped as JSON.
    func body(_ text: String) -> String {
        "{\"channel\": \"\(Self.escape(channel))\", \"username\": \"\(Self.escape(username))\", "
            + "\"text\": \"\(Self.escape(text))\", \"icon_emoji\": \"\(Self.escape(iconEmoji))\" }"
    }

    /// Posts `text`; 1 when the webhook answered 1xx/2xx, -1 otherwise.
    func send(_ text: String, _ ctx: MessageContext) -> Int {
        guard let url, let http else {
            Log.error("slack", "webhook url not specified")
            return -1
        }
        guard text.utf8.count <= Self.maximumTextLength else {
            Log.error("slack", "text longer than \(Self.maximumTextLength) bytes")
            return -1
        }
        let reply = http.query(ctx, url: url, body: body(text), contentType: nil, headers: nil)
        guard reply.code >= 100 && reply.code < 300 else {
            Log.error("slack", "request failed with error: \(reply.code)")
            return -1
        }
        Log.debug("slack", "slack send response: [\(reply.body)]")
        return 1
    }

    /// A JSON string's content: quote, backslash and control characters escaped.
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "slack") { SlackModule().exports }
}
