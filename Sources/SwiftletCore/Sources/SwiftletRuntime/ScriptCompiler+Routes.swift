import SwiftletSDK

/// Which routing blocks reach each `route[NAME]` through `route()` calls (transitively),
/// so that the functions in NAME can be checked against the route types they run in.
struct RouteReach {
    /// One way a named route is reached: the kind of the top-level block and the call path.
    struct Entry {
        let type: RouteTypes
        /// `failure_route[F] -> route[A] -> route[B]`
        let path: String
    }

    private(set) var entries: [String: [Entry]] = [:]

    /// The route types that reach `name` (empty when no block calls it).
    func types(of name: String) -> RouteTypes {
        entries[name, default: []].reduce(into: RouteTypes()) { $0.formUnion($1.type) }
    }

    /// The ways `name` is reached, by route type (request, failure, ... order).
    func entries(of name: String) -> [Entry] { (entries[name] ?? []).sorted { $0.type.rawValue < $1.type.rawValue } }

    /// Builds the reach of every named route of `config`. `onsend_route` calls no route
    /// (a `route()` there is an error), so it reaches nothing.
    init(_ config: ConfigFile) {
        var calls: [String: [String]] = [:]  // named route -> routes it calls
        var roots: [(RouteTypes, String, [String])] = []
        for block in config.routes {
            var called: [String] = []
            for s in block.body { RouteReach.collect(s, into: &called) }
            switch block.kind {
            case .named(let n): calls[n, default: []] += called
            case .request: roots.append((.request, "request_route", called))
            case .failure(let n): roots.append((.failure, "failure_route[\(n)]", called))
            case .branch(let n): roots.append((.branch, "branch_route[\(n)]", called))
            case .onReply(nil): roots.append((.coreOnReply, "reply_route", called))
            case .onReply(let n?): roots.append((.tmOnReply, "onreply_route[\(n)]", called))
            case .onSend: break
            case .event(let n): roots.append((.event, "event_route[\(n)]", called))
            }
        }
        var work: [(String, Entry)] = []
        for (type, description, called) in roots {
            for c in called { work.append((c, Entry(type: type, path: "\(description) -> route[\(c)]"))) }
        }
        // Breadth first, so that each route type is recorded with one of its shortest paths.
        var next = 0
        while next < work.count {
            let (name, entry) = work[next]
            next += 1
            if entries[name, default: []].contains(where: { $0.type == entry.type }) { continue }
            entries[name, default: []].append(entry)
            for c in calls[name] ?? [] {
                work.append((c, Entry(type: entry.type, path: "\(entry.path) -> route[\(c)]")))
            }
        }
    }

    /// The route names called (`route(NAME)`) anywhere in a statement.
    static func collect(_ s: Statement, into names: inout [String]) {
        switch s {
        case .expression(let e): collect(e, into: &names)
        case .ifElse(let c, let t, let o, _):
            collect(c, into: &names)
            for x in t + (o ?? []) { collect(x, into: &names) }
        case .exit(let e, _), .drop(let e, _), .return(let e, _):
            if let e { collect(e, into: &names) }
        case .break: break
        case .routeCall(let n, _): names.append(n)
        case .assignment(_, _, let v, _): collect(v, into: &names)
        case .block(let b):
            for x in b { collect(x, into: &names) }
        case .switch(let subject, let cases, _):
            collect(subject, into: &names)
            for c in cases {
                for x in c.body { collect(x, into: &names) }
            }
        case .while(let c, let b, _):
            collect(c, into: &names)
            for x in b { collect(x, into: &names) }
        }
    }

    static func collect(_ e: Expression, into names: inout [String]) {
        switch e {
        case .call(let name, let args, _):
            if name == "route", args.count == 1, let r = args[0].routeName { names.append(r) }
            for a in args { collect(a, into: &names) }
        case .unary(_, let o, _): collect(o, into: &names)
        case .binary(_, let l, let r, _):
            collect(l, into: &names)
            collect(r, into: &names)
        default: break
        }
    }
}

extension RouteTypes {
    /// Whether a function declared for `self` may run in the single route type `type`.
    /// Event routes accept functions allowed in event or request routes: Kamailio runs
    /// most of them as REQUEST_ROUTE and does not check their functions.
    func allows(_ type: RouteTypes) -> Bool {
        if type == .event { return contains(.event) || contains(.request) }
        return contains(type)
    }

    /// The single route types in this set, in bit order.
    var members: [RouteTypes] {
        (0..<32).compactMap { i in
            let t = RouteTypes(rawValue: 1 << UInt32(i))
            return contains(t) ? t : nil
        }
    }
}
