import SwiftletSDK

/// rr's API for other modules (Kamailio's `load_rr`, `register_rrcb`).
extension RRModule: RecordRouteAPI {
    var appendsFromTag: Bool { appendFromTag != 0 }

    /// Kamailio's `loose_route_mode()`: the Route processing, then the `register_rrcb()`
    /// callbacks with our Route parameters when the route set drove the request (or was
    /// preloaded) and our entry had parameters.
    func looseRoute(_ ctx: MessageContext, mode: Int) -> Int {
        var own: Range<Int>?
        let status = looseRouteSteps(ctx, mode: mode, ownParameters: &own)
        guard !looseRouteCallbacks.isEmpty, status == RouteStatus.driven || status == RouteStatus.preloaded else {
            return status
        }
        // Our top Route's parameters as the loose-router step found them, else (after a
        // strict router) looked up again.
        guard let range = own ?? routedParameters(ctx)?.range, !range.isEmpty else { return status }
        let params = String(decoding: ctx.message.buffer[range], as: UTF8.self)
        for entry in looseRouteCallbacks { entry.callback(ctx, params) }
        return status
    }

    func recordRoute(_ context: MessageContext, parameters: String?) -> Int {
        guard context.internalFlags & MessageFlag.recordRouteAdded == 0 else {
            Log.error("rr", "Double attempt to record-route")
            return -1
        }
        guard recordRoute(context, params: Array((parameters ?? "").utf8)) >= 0 else { return -1 }
        if context.routeType != .branch { context.internalFlags |= MessageFlag.recordRouteAdded }
        return 1
    }

    func looseRoute(_ context: MessageContext) -> Int { looseRoute(context, mode: 0) }

    func addRecordRouteParameter(_ context: MessageContext, _ parameter: String) -> Int {
        addParameter(context, Array(parameter.utf8))
    }

    func checkRouteParameter(_ context: MessageContext, pattern: String) -> Int {
        guard let re = try? POSIXRegex(pattern), let (range, fromRoute) = routedParameters(context) else { return -1 }
        let b = context.message.buffer
        let start = fromRoute && range.lowerBound > 0 && b[range.lowerBound - 1] == UInt8(ascii: ";")
        return re.matches(b[(start ? range.lowerBound - 1 : range.lowerBound)..<range.upperBound]) ? 1 : -1
    }

    func isDirection(_ context: MessageContext, _ wanted: DialogDirection) -> Int {
        let d = direction(context)
        return (d == .downstream) == (wanted == .downstream) ? 1 : -1
    }

    func routeParameterValue(_ context: MessageContext, _ name: String) -> String? {
        routeParameter(context, name).map { String(decoding: $0, as: UTF8.self) }
    }

    func registerLooseRouteCallback(priority: Int, _ callback: @escaping (MessageContext, String) -> Void) {
        looseRouteCallbacks.append((priority, callback))
        looseRouteCallbacks.sort { $0.priority < $1.priority }
    }
}
