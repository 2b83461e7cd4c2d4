extension Parser {
    /// `{ statement* }`
    mutating func parseBlock() throws(SyntaxError) -> [Statement] {
        let open = current
        try expectPunctuation("{", "to open a block")
        var body: [Statement] = []
        while !current.isPunctuation("}") {
            if atEnd { throw fail("missing '}' for the block opened here", at: open.location) }
            let before = index
            do throws(SyntaxError) {
                if let s = try parseStatement() { body.append(s) }
            } catch {
                synchronizeStatement(from: before)
            }
        }
        advance()
        return body
    }

    /// One statement, or nil for an empty `;`.
    mutating func parseStatement() throws(SyntaxError) -> Statement? {
        let t = current
        if t.isPunctuation(";") {
            advance()
            return nil
        }
        if t.isPunctuation("{") { return .block(try parseBlock()) }
        if t.kind == .identifier {
            switch t.text {
            case "if":
                advance()
                try expectPunctuation("(", "after if")
                let condition = try parseExpression()
                try expectPunctuation(")", "to close the if condition")
                let then = try parseBody()
                var otherwise: [Statement]? = nil
                if current.isIdentifier("else") {
                    advance()
                    otherwise = try parseBody()
                }
                return .ifElse(condition: condition, then: then, otherwise: otherwise, location: t.location)
            case "exit", "drop", "return":
                advance()
                var value: Expression? = nil
                if !current.isPunctuation(";") { value = try parseExpression() }
                try expectPunctuation(";", "after \(t.text)")
                switch t.text {
                case "exit": return .exit(value, location: t.location)
                case "drop": return .drop(value, location: t.location)
                default: return .return(value, location: t.location)
                }
            case "break":
                advance()
                try expectPunctuation(";", "after break")
                return .break(location: t.location)
            case "route" where peek().isPunctuation("("):
                advance()
                advance()
                let nameToken = advance()
                guard
                    nameToken.kind == .identifier || nameToken.kind == .string
                        || {
                            if case .integer = nameToken.kind { return true } else { return false }
                        }()
                else { throw fail("expected a route name", at: nameToken.location) }
                try expectPunctuation(")", "after the route name")
                try expectPunctuation(";", "after route(...)")
                return .routeCall(name: nameToken.text, location: t.location)
            default:
                break
            }
        }
        if t.kind == .pseudoVariable, peek().isPunctuation("=") || peek().isPunctuation("+=") {
            advance()
            let op = advance().text
            let value = try parseExpression()
            try expectPunctuation(";", "after the assignment")
            return .assignment(target: t, op: op, value: value, location: t.location)
        }
        let e = try parseExpression()
        try expectPunctuation(";", "after the statement")
        return .expression(e)
    }

    /// A block, or a single statement (as the branch of an if/else).
    mutating func parseBody() throws(SyntaxError) -> [Statement] {
        if current.isPunctuation("{") { return try parseBlock() }
        return try parseStatement().map { [$0] } ?? []
    }

    /// Skips to the end of the broken statement.
    mutating func synchronizeStatement(from start: Int) {
        if index == start { advance() }
        while !atEnd {
            if current.isPunctuation(";") {
                advance()
                return
            }
            if current.isPunctuation("}") || current.isPunctuation("{") { return }
            advance()
        }
    }
}
