import SwiftletSDK

/// A loaded destination list: the sets in Kamailio's walking order (its AVL tree visited
/// left, right, node) and the number of sets.
struct DSList: Sendable {
    var sets: [DSSet] = []

    var isEmpty: Bool { sets.isEmpty }

    func position(of id: Int) -> Int? { sets.firstIndex { $0.id == id } }
}

/// Why a destination could not be added.
struct DSLoadError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Builds a list as Kamailio's `add_dest2list` + `reindex_dests` do: within a set, higher
/// priority first and, at equal priority, the destination added last first; sets in the
/// order of Kamailio's AVL tree walk.
struct DSListBuilder {
    struct Settings {
        var attrsNone = false
        var defaultSocket: ListeningSocket?
        /// The core's sockets, for `socket` and `sockname`.
        var sockets: DSSockets
        /// `ds_dns_mode` has 1 or 4: hosts are resolved when the list is loaded.
        var resolveAtLoad = true
        /// `ds_dns_mode` has 8: SRV lookups, which may set the port and protocol.
        var srv = false
    }

    let settings: Settings
    /// Per set: the destinations in ascending priority (stable).
    private var pending: [Int: [DSDestination]] = [:]
    private var order: [Int] = []

    init(_ settings: Settings) { self.settings = settings }

    /// Kamailio's `pack_dest` + `add_dest2list`; dload carries over on `dispatcher.add`.
    mutating func add(set id: Int, uri rawURI: String, flags: Int, priority: Int, attrs: String, dload: Int = 0)
        throws(DSLoadError)
    {
        let d = try Self.pack(
            uri: rawURI, flags: flags, priority: priority, attrs: attrs, dload: dload, settings: settings)
        if pending[id] == nil {
            pending[id] = []
            order.append(id)
        }
        var list = pending[id]!
        let at = list.firstIndex { $0.priority > d.priority } ?? list.count
        list.insert(d, at: at)
        pending[id] = list
    }

    /// The list: each set's destinations reversed (highest priority first), weights built.
    func build() -> DSList {
        var sets: [DSSet] = []
        for id in DSAVLOrder.walk(order) {
            var s = DSSet(id: id, destinations: pending[id]!.reversed())
            s.initWeights()
            s.initRelativeWeights()
            sets.append(s)
        }
        return DSList(sets: sets)
    }

    static func pack(
        uri rawURI: String, flags: Int, priority: Int, attrs: String, dload: Int, settings: Settings
    ) throws(DSLoadError) -> DSDestination {
        var uri = rawURI
        var parsed = SIPURI(uri)
        if parsed == nil || parsed?.scheme == "tel" {
            if uri.count > 4, !uri.hasPrefix("sip:"), uri.count < 500, let p = SIPURI("sip:" + uri) {
                Log.info("dispatcher", "uri without sip scheme - fixing it: \(rawURI)")
                uri = "sip:" + uri
                parsed = p
            } else {
                throw DSLoadError("bad uri [\(rawURI)]")
            }
        }
        guard let p = parsed else { throw DSLoadError("bad uri [\(rawURI)]") }
        let a = DSAttributes(parsing: attrs, attrsNone: settings.attrsNone)
        var socket = settings.defaultSocket
        if !a.sockname.isEmpty {
            guard let s = settings.sockets.find(name: a.sockname) else {
                throw DSLoadError("non-local socket name <\(a.sockname)>")
            }
            socket = s
        } else if !a.socket.isEmpty {
            guard let phs = ProtoHostPort(a.socket) else { throw DSLoadError("bad socket <\(a.socket)>") }
            guard let s = settings.sockets.find(host: phs.host, port: phs.port, proto: phs.proto) else {
                throw DSLoadError("non-local socket <\(a.socket)>")
            }
            socket = s
        }
        var d = DSDestination(
            uri: uri, host: p.host, port: p.port ?? 0,
            proto: p.parameter("transport").flatMap(NextHop.transport(named:)),
            flags: flags, priority: priority, attrs: a, dload: dload, socket: socket)
        if let l = a.latency { d.latency = DSLatency(initial: l, count: 10_000) }
        if flags & DSState.noDNSResolve == 0 && settings.resolveAtLoad {
            guard let r = DSDNS.resolve(host: d.host, port: d.port, proto: d.proto, srv: settings.srv) else {
                throw DSLoadError("could not resolve \(p.host) (missing no-probing flag?!?)")
            }
            d.address = r.address
            d.port = r.port
            d.proto = r.proto
        }
        return d
    }

    /// Kamailio's list file: `setid uri [flags [priority [attrs]]]` per line, `#` comments.
    static func parseListFile(_ text: String) -> [(set: Int, uri: String, flags: Int, priority: Int, attrs: String)] {
        var rows: [(Int, String, Int, Int, String)] = []
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" }) {
            var s = Substring(line)
            func skipSpace() { while let c = s.first, c == " " || c == "\t" || c == "\r" { s = s.dropFirst() } }
            func number() -> Int {
                var n = 0
                while let c = s.first, let d = c.wholeNumberValue, c.isASCII {
                    n = n * 10 + d
                    s = s.dropFirst()
                }
                return n
            }
            func token(stopAtHash: Bool) -> String {
                var t = ""
                while let c = s.first, c != " ", c != "\t", c != "\r", !(stopAtHash && c == "#") {
                    t.append(c)
                    s = s.dropFirst()
                }
                return t
            }
            skipSpace()
            if s.isEmpty || s.first == "#" { continue }
            let id = number()
            skipSpace()
            if s.isEmpty || s.first == "#" {
                Log.error("dispatcher", "bad line [\(line)]")
                continue
            }
            let uri = token(stopAtHash: true)
            skipSpace()
            var flags = 0
            var priority = 0
            var attrs = ""
            if !s.isEmpty, s.first != "#" {
                flags = number()
                skipSpace()
                if !s.isEmpty, s.first != "#" {
                    priority = number()
                    skipSpace()
                    if !s.isEmpty, s.first != "#" { attrs = token(stopAtHash: false) }
                }
            }
            rows.append((id, uri, flags, priority, attrs))
        }
        return rows
    }
}

/// The order in which Kamailio walks its AVL tree of sets (children first, left then right,
/// then the node), for set ids inserted in `insertion` order.
enum DSAVLOrder {
    final class Node {
        let id: Int
        var left: Node?
        var right: Node?
        var height = 1
        init(_ id: Int) { self.id = id }
    }

    static func walk(_ insertion: [Int]) -> [Int] {
        var root: Node?
        for id in insertion { root = insert(root, id) }
        var out: [Int] = []
        func visit(_ n: Node?) {
            guard let n else { return }
            visit(n.left)
            visit(n.right)
            out.append(n.id)
        }
        visit(root)
        return out
    }

    static func height(_ n: Node?) -> Int { n?.height ?? 0 }
    static func fix(_ n: Node) { n.height = max(height(n.left), height(n.right)) + 1 }

    static func rotateRight(_ n: Node) -> Node {
        let l = n.left!
        n.left = l.right
        l.right = n
        fix(n)
        fix(l)
        return l
    }

    static func rotateLeft(_ n: Node) -> Node {
        let r = n.right!
        n.right = r.left
        r.left = n
        fix(n)
        fix(r)
        return r
    }

    static func insert(_ n: Node?, _ id: Int) -> Node {
        guard let n else { return Node(id) }
        if id == n.id { return n }
        if id < n.id { n.left = insert(n.left, id) } else { n.right = insert(n.right, id) }
        fix(n)
        let balance = height(n.left) - height(n.right)
        if balance > 1 {
            if id > n.left!.id { n.left = rotateLeft(n.left!) }
            return rotateRight(n)
        }
        if balance < -1 {
            if id < n.right!.id { n.right = rotateRight(n.right!) }
            return rotateLeft(n)
        }
        return n
    }
}
