import Testing

@testable import SwiftletSDK

/// The order of hooks from several modules, and typed API lookup.
@Suite struct MessageHookOrderTests {
    func module(_ name: String, _ trace: TraceLog) -> ModuleExports {
        let e = ModuleExports(name: name)
        e.netDataIn = { _ in
            trace.add("in:\(name)")
            return .continue
        }
        e.netDataOut = { _ in
            trace.add("out:\(name)")
            return name == "c" && trace.dropOut ? .drop : .continue
        }
        return e
    }

    @Test func inHooksRunInLoadOrderOutHooksInReverse() {
        let trace = TraceLog()
        let hooks = MessageHooks(modules: [module("a", trace), module("b", trace), module("c", trace)])
        var data = NetData(bytes: [], proto: .udp, peer: SocketAddress(), socket: nil, isReply: nil)
        #expect(hooks.runIn(&data))
        #expect(hooks.runOut(&data))
        #expect(trace.lines == ["in:a", "in:b", "in:c", "out:c", "out:b", "out:a"])
        trace.lines = []
        trace.dropOut = true
        #expect(!hooks.runOut(&data))
        #expect(trace.lines == ["out:c"])  // a drop stops the chain
    }

    final class Provider: StatelessReplyAPI {
        func sendReply(_ context: MessageContext, code: Int, reason: String) -> Int { code }
    }

    @Test func apisAreLookedUpByTypeAndProvidedOnce() throws {
        let registry = ModuleAPIRegistry()
        let p = Provider()
        try registry.register(ProvidedAPI(p, as: StatelessReplyAPI.self), module: "sl")
        #expect(registry.lookup(StatelessReplyAPI.self) === p)
        #expect(registry.provider(of: StatelessReplyAPI.self) == "sl")
        #expect(registry.lookup(ScriptRoutes.self) == nil)
        #expect(throws: FixupError.self) {
            try registry.register(ProvidedAPI(Provider(), as: StatelessReplyAPI.self), module: "other")
        }
    }
}

final class TraceLog: @unchecked Sendable {
    var lines: [String] = []
    var dropOut = false
    func add(_ s: String) { lines.append(s) }
}
