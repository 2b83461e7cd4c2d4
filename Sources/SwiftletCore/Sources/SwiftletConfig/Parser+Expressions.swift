extension Parser {
    /// Binary operators from lowest to highest precedence (Kamailio 5.6 cfg grammar).
    static let binaryLevels: [[String]] = [
        ["||", "or"], ["&&", "and"], ["|"], ["&"], ["^"], ["<<"], [">>"],
        ["==", "!=", "=~", "eq", "ne", "ieq", "ine"], ["<", ">", "<=", ">="], ["+", "-"], ["*", "/", "mod"],
    ]

    mutating func parseExpression() throws(SyntaxError) -> Expression {
        try parseBinary(level: 0)
    }

    func binaryOperator(at level: Int) -> String? {
        let t = current
        guard t.kind == .punctuation || t.kind == .identifier else { return nil }
        return Parser.binaryLevels[level].contains(t.text) ? t.text : nil
    }

    mutating func parseBinary(level: Int) throws(SyntaxError) -> Expression {
        if level == Parser.binaryLevels.count { return try parseUnary() }
        var lhs = try parseBinary(level: level + 1)
        while let op = binaryOperator(at: level) {
            let opToken = advance()
            let rhs = try parseBinary(level: level + 1)
            lhs = .binary(
                op: op == "or" ? "||" : op == "and" ? "&&" : op, lhs: lhs, rhs: rhs, location: opToken.location)
        }
        return lhs
    }

    mutating func parseUnary() throws(SyntaxError) -> Expression {
        let t = current
        if t.isPunctuation("!") || t.isIdentifier("not") {
            advance()
            return .unary(op: "!", operand: try parseUnary(), location: t.location)
        }
        if t.isPunctuation("-") || t.isPunctuation("~") || t.isIdentifier("defined") {
            advance()
            return .unary(op: t.text, operand: try parseUnary(), location: t.location)
        }
        return try parsePrimary()
    }

    mutating func parsePrimary() throws(SyntaxError) -> Expression {
        let t = current
        switch t.kind {
        case .integer(let v):
            advance()
            return .integer(v, location: t.location)
        case .string:
            advance()
            var s = t.text
            while current.kind == .string { s += advance().text }  // adjacent strings concatenate
            return .string(s, location: t.location)
        case .pseudoVariable:
            advance()
            return .pseudoVariable(t.text, location: t.location)
        case .ipv4, .ipv6:
            advance()
            // `10.0.0.0/8`, `10.0.0.0/255.0.0.0`, `[2001:db8::]/32`: a network, kept as its text
            // (Kamailio compares `src_ip`/`dst_ip` with it as a network).
            if current.isPunctuation("/") {
                let mask = peek()
                var bits: String? = nil
                if case .integer(let n) = mask.kind { bits = String(n) }
                if mask.kind == .ipv4 { bits = mask.text }
                if let bits {
                    advance()
                    advance()
                    return .string(t.text + "/" + bits, location: t.location)
                }
            }
            return .string(t.text, location: t.location)
        case .identifier:
            advance()
            // `msg:len` is one keyword, written without spaces.
            if t.text == "msg", current.isPunctuation(":"), !current.spaceBefore, peek().isIdentifier("len"),
                !peek().spaceBefore
            {
                advance()
                advance()
                return .name("msg:len", location: t.location)
            }
            if current.isPunctuation("(") {
                advance()
                var args: [Expression] = []
                if !current.isPunctuation(")") {
                    while true {
                        args.append(try parseHostPortSpec(try parseExpression()))
                        if current.isPunctuation(",") {
                            advance()
                            continue
                        }
                        break
                    }
                }
                try expectPunctuation(")", "to close the argument list of \(t.text)()")
                return .call(name: t.text, arguments: args, location: t.location)
            }
            return .name(t.text, location: t.location)
        case .punctuation where t.text == "(":
            advance()
            let e = try parseExpression()
            try expectPunctuation(")", "to close '('")
            return e
        default:
            throw fail("expected an expression, found \(describe(t))")
        }
    }

    /// Kamailio's socket and host:port arguments (`force_send_socket(udp:10.0.0.1:5060)`,
    /// `send(10.0.0.1:5070)`, `forward(uri:host, uri:port)`): a name, address or number
    /// followed by `:` parts is one string argument, written as it stands.
    mutating func parseHostPortSpec(_ first: Expression) throws(SyntaxError) -> Expression {
        guard current.isPunctuation(":") else { return first }
        var text: String
        switch first {
        case .name(let n, _): text = n
        case .string(let s, _): text = s
        case .integer(let n, _): text = String(n)
        default: return first
        }
        while current.isPunctuation(":") {
            advance()
            let t = current
            switch t.kind {
            case .identifier, .ipv4, .ipv6: text += ":" + t.text
            case .integer(let n): text += ":" + String(n)
            default: throw fail("expected a host, protocol or port after ':', found \(describe(t))")
            }
            advance()
        }
        return .string(text, location: first.location)
    }
}
