import SwiftletSDK

extension HTTPClientModule {
    /// `$curlerror(code)`: libcurl's text for the error code in the name (a number, as in
    /// `$curlerror(28)`); "HTTP result code" above 99, "Bad CURL error code" below 0.
    var curlErrorPV: PseudoVariableClass {
        PseudoVariableClass("curlerror") { (pv: PseudoVariableName) throws(FixupError) -> PseudoVariable in
            guard let inner = pv.inner, !inner.isEmpty else { throw FixupError("$curlerror needs an error code") }
            let code = Self.atoi(inner)
            let text: String
            if code > 99 {
                text = "HTTP result code"
            } else if code < 0 {
                text = "Bad CURL error code"
            } else {
                text = CurlGlobal.errorText(code)
            }
            return PseudoVariable(text: pv.text, get: { _ in .string(text) })
        }
    }

    /// C's atoi: leading spaces, a sign, digits up to the first other character.
    static func atoi(_ s: String) -> Int {
        var chars = Substring(s).drop { $0 == " " || $0 == "\t" }
        var sign = 1
        if let f = chars.first, f == "-" || f == "+" {
            sign = f == "-" ? -1 : 1
            chars = chars.dropFirst()
        }
        return sign * (Int(String(chars.prefix { $0.isASCII && $0.isNumber })) ?? 0)
    }

    /// `httpclient.listcon`: every connection, newest first, as Kamailio lists them.
    var rpcs: [RPCCommand] {
        [
            RPCCommand("httpclient.listcon", "List all CURL connection definitions") {
                [self] (_: RPCRequest) throws(RPCError) -> RPCValue in
                let connections = self.connections
                guard !connections.isEmpty else { throw RPCError(500, "No Connection Definitions") }
                return .object(
                    connections.map { c in
                        (
                            "CONNECTION",
                            .object([
                                ("NAME", .string(c.name)), ("SCHEMA", .string(c.schema)), ("URI", .string(c.url)),
                                ("USERNAME", .string(c.username ?? "")), ("PASSWORD", .string(c.password ?? "")),
                                ("FAILOVER", .string(c.failover ?? "")), ("TIMEOUT", .int(c.timeout)),
                            ])
                        )
                    })
            }
        ]
    }
}
