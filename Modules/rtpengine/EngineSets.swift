import SwiftletSDK
import Synchronization

/// One rtpengine instance of an `rtpengine_sock` list (Kamailio's `rtpp_node`).
final class EngineNode: Sendable {
    /// `udp:127.0.0.1:2223` as configured (without `=weight`).
    let url: String
    /// `host:port` after the scheme.
    let address: String
    let ipv6: Bool
    let index: Int
    let weight: Int
    /// 1 while disabled.
    let disabled = Atomic<Int>(0)
    /// When (seconds on the core clock) a disabled node is tried again; `permanent` = never.
    let recheckAt = Atomic<Int>(0)
    static let permanent = Int.max

    init(url: String, address: String, ipv6: Bool, index: Int, weight: Int) {
        self.url = url
        self.address = address
        self.ipv6 = ipv6
        self.index = index
        self.weight = weight
    }

    var isDisabled: Bool { disabled.load(ordering: .relaxed) != 0 }
    var isPermanentlyDisabled: Bool { isDisabled && recheckAt.load(ordering: .relaxed) == Self.permanent }
}

/// A set of instances with its id (Kamailio's `rtpp_set`).
final class EngineSet: Sendable {
    let id: Int
    let nodes: [EngineNode]
    init(id: Int, nodes: [EngineNode]) {
        self.id = id
        self.nodes = nodes
    }
}

/// The `rtpengine_sock` values parsed into sets (Kamailio's `rtpengine_add_rtpengine_set`
/// and `add_rtpengine_socks`): `[id ==] url[=weight] ...`, urls `udp:host:port` or
/// `udp6:[host]:port`; other schemes are ignored with a warning.
enum EngineSetParser {
    static func parse(_ values: [String], defaultSet: Int) throws(FixupError) -> [EngineSet] {
        var order: [Int] = []
        var nodes: [Int: [EngineNode]] = [:]
        var index = 0
        for value in values {
            var text = Substring(value).drop { $0 == " " || $0 == "\t" }
            guard !text.isEmpty else { continue }
            var id = defaultSet
            if let eq = text.firstRange(of: "==") {
                guard let n = Int(text[..<eq.lowerBound].trimmingCharacters()), n >= 0 else {
                    throw FixupError("rtpengine: script error -invalid set_id value!")
                }
                id = n
                text = text[eq.upperBound...]
            }
            let urls = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard !urls.isEmpty else { throw FixupError("rtpengine: script error -empty rtp_proxy list") }
            if nodes[id] == nil {
                order.append(id)
                nodes[id] = []
            }
            for word in urls {
                var url = word
                var weight = 1
                if let eq = word.firstIndex(of: "=") {
                    url = word[..<eq]
                    weight = Int(word[word.index(after: eq)...].prefix { $0.isNumber }) ?? 0
                }
                let lower = url.lowercased()
                let ipv6 = lower.hasPrefix("udp6:")
                guard lower.hasPrefix("udp:") || ipv6 else {
                    Log.warning(
                        "rtpengine",
                        "Node address must start with 'udp:' or 'udp6:' or 'unix:' or 'ws://' or 'wss://'. Ignore '\(url)'."
                    )
                    continue
                }
                let address = String(url.dropFirst(ipv6 ? 5 : 4))
                if nodes[id]?.contains(where: { $0.url == String(url) }) == true { continue }
                nodes[id]?.append(
                    EngineNode(url: String(url), address: address, ipv6: ipv6, index: index, weight: weight))
                index += 1
            }
        }
        return order.map { EngineSet(id: $0, nodes: nodes[$0] ?? []) }
    }
}

extension Substring {
    func trimmingCharacters() -> String { String(self).trimmingCharacters() }
}

/// Which instance served a call (Kamailio's rtpengine hash table: Call-ID and Via branch
/// to node), so that answer and delete go where the offer went; entries expire after
/// `hash_table_tout` seconds.
final class CallNodeTable: Sendable {
    struct Entry: Sendable {
        var node: Int
        var expires: Int
    }
    private let entries = Mutex<[String: Entry]>([:])

    static func key(_ callID: String, _ branch: String) -> String { callID + "\u{0}" + branch }

    func node(_ callID: String, _ branch: String, now: Int) -> Int? {
        entries.withLock { e in
            let k = Self.key(callID, branch)
            guard let entry = e[k] else { return nil }
            if entry.expires < now {
                e[k] = nil
                return nil
            }
            return entry.node
        }
    }

    func insert(_ callID: String, _ branch: String, node: Int, expires: Int) {
        entries.withLock { $0[Self.key(callID, branch)] = Entry(node: node, expires: expires) }
    }

    func remove(_ callID: String, _ branch: String) {
        _ = entries.withLock { $0.removeValue(forKey: Self.key(callID, branch)) }
    }

    var count: Int { entries.withLock { $0.count } }
}
