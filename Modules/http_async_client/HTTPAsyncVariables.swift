import SwiftletSDK

/// The module's pseudo-variables: `$http_req(key)` (write-only: the next query's parameters),
/// `$http_req_id`, and the result variables of the callback route (`$http_ok`, `$http_err`,
/// `$http_rs`, `$http_rr`, `$http_hdr(name)`, `$http_mb`, `$http_ml`, `$http_rb`, `$http_bs`,
/// `$http_time(name)`).
enum HTTPAsyncVariables {
    static func classes(_ module: HTTPAsyncClientModule) -> [PseudoVariableClass] {
        [
            HTTPRequestVariable.pseudoVariableClass(module),
            PseudoVariableClass.readOnly("http_req_id") { _ in .string(HTTPQueryID.current) },
            PseudoVariableClass.readOnly("http_ok") { _ in
                guard let r = replyOrError() else { return .null }
                return .int(r.error == nil ? 1 : 0)
            },
            PseudoVariableClass.readOnly("http_err") { _ in
                guard let r = replyOrError(), let error = r.error else { return .null }
                return .string(error)
            },
            PseudoVariableClass.readOnly("http_rs") { _ in reply().map { PVValue.int($0.status) } ?? .null },
            PseudoVariableClass.readOnly("http_rr") { _ in reply().map { PVValue.string($0.reason) } ?? .null },
            PseudoVariableClass.readOnly("http_rb") { _ in
                reply().map { PVValue.string(String(decoding: $0.body, as: UTF8.self)) } ?? .null
            },
            PseudoVariableClass.readOnly("http_bs") { _ in reply().map { PVValue.int($0.body.count) } ?? .null },
            PseudoVariableClass.readOnly("http_mb") { _ in
                reply().map { PVValue.string(String(decoding: $0.head + $0.body, as: UTF8.self)) } ?? .null
            },
            PseudoVariableClass.readOnly("http_ml") { _ in
                reply().map { PVValue.int($0.head.count + $0.body.count) } ?? .null
            },
            headerClass,
            timeClass,
        ]
    }

    /// The callback's result; nil (with Kamailio's error line) outside a callback route.
    static func replyOrError() -> HTTPQueryResult? {
        guard let r = HTTPQueryResult.current else {
            Log.error("http_async_client", "the async variables can only be read from an async http worker")
            return nil
        }
        return r
    }

    /// The callback's reply; nil outside a callback route, and after an error (with
    /// Kamailio's warning).
    static func reply() -> HTTPQueryResult? {
        guard let r = replyOrError() else { return nil }
        guard r.error == nil else {
            Log.warning(
                "http_async_client",
                "an async variable was read after http error, use $http_ok to check the request's status")
            return nil
        }
        return r
    }

    /// `$http_hdr(name)`, `$(http_hdr(name)[n])` (negative from the last), `[*]` (all, joined
    /// with ","): the reply's header values, as `$hdr` for SIP.
    static var headerClass: PseudoVariableClass {
        PseudoVariableClass("http_hdr") { (pv: PseudoVariableName) throws(FixupError) -> PseudoVariable in
            guard let name = pv.inner, !name.isEmpty else { throw FixupError("$http_hdr needs a header name") }
            let index = try PVIndex(pv.index, registry: pv.registry)
            return PseudoVariable(text: pv.text) { ctx in
                guard let r = reply() else { return .null }
                let values = r.headerValues(name)
                switch index.resolve(ctx) {
                case .all:
                    return values.isEmpty ? .null : .string(values.joined(separator: ","))
                case .position(let n):
                    return PVIndex.element(values, n).map { PVValue.string($0) } ?? .null
                case nil:
                    return .null
                }
            }
        }
    }

    /// `$http_time(name)`: libcurl's transfer times in microseconds (0 outside a callback).
    static var timeClass: PseudoVariableClass {
        PseudoVariableClass("http_time") { (pv: PseudoVariableName) throws(FixupError) -> PseudoVariable in
            let pick: (HTTPTransferTimes) -> Int
            switch pv.inner ?? "" {
            case "total": pick = { $0.total }
            case "lookup": pick = { $0.lookup }
            case "connect": pick = { $0.connect }
            case "redirect": pick = { $0.redirect }
            case "appconnect": pick = { $0.appconnect }
            case "pretransfer": pick = { $0.pretransfer }
            case "starttransfer": pick = { $0.starttransfer }
            default: throw FixupError("unknown http_time name \(pv.inner ?? "")")
            }
            return PseudoVariable(text: pv.text) { _ in .int(HTTPQueryResult.current.map { pick($0.times) } ?? 0) }
        }
    }
}
