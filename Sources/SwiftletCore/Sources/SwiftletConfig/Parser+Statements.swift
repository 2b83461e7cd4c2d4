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
            case "switch":
                return try parseSwitch()
            case "while":
                advance()
                let condition = try parseExpression()
                let body = try parseBody()
                return .while(condition: condition, body: body, location: t.location)
            case "exit", "drop", "return":
                advance()
                var value: Expression? = nil
                if current.isPunctuation("("), peek().isPunctuation(")") {  // exit() / drop()
                    advance()
                    advance()
                } else if !current.isPunctuation(";") {
                    value = try parseExpression()
                }
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

    /// `switch expr { case C: statements... case /"re": ... default: ... }`: the labels are
    /// parsed as expressions (checked to be constants by the compiler).
    mutating func parseSwitch() throws(SyntaxError) -> Statement {
        let keyword = advance()
        let subject = try parseExpression()
        let open = current
        try expectPunctuation("{", "to open the switch body")
        var cases: [SwitchCase] = []
        while !current.isPunctuation("}") {
            if atEnd { throw fail("missing '}' for the switch opened here", at: open.location) }
            let labelToken = current
            let labelStart = index
            let label: SwitchCase.Label
            do throws(SyntaxError) {
                if current.isIdentifier("case") {
                    advance()
                    if current.isPunctuation("/") {
                        advance()
                        label = .regex(try parseExpression())
                    } else {
                        label = .value(try parseExpression())
                    }
                } else if current.isIdentifier("default") {
                    advance()
                    label = .default
                } else {
                    throw fail("expected 'case' or 'default' in the switch body, found \(describe(current))")
                }
                try expectPunctuation(":", "after the \(labelToken.text) label")
            } catch {
                synchronizeCaseLabel(from: labelStart)
                continue
            }
            var body: [Statement] = []
            while !current.isPunctuation("}"), !current.isIdentifier("case"), !current.isIdentifier("default"), !atEnd {
                let before = index
                do throws(SyntaxError) {
                    if let s = try parseStatement() { body.append(s) }
                } catch {
                    synchronizeStatement(from: before)
                }
            }
            cases.append(SwitchCase(label: label, body: body, location: labelToken.location))
        }
        advance()
        return .switch(subject: subject, cases: cases, location: keyword.location)
    }

    /// After a broken case label: skips it and its statements, to the next label or the end
    /// of the switch.
    mutating func synchronizeCaseLabel(from start: Int) {
        if index == start { advance() }
        var depth = 0
        while !atEnd {
            if depth == 0,
                current.isPunctuation("}") || current.isIdentifier("case") || current.isIdentifier("default")
            {
                return
            }
            if current.isPunctuation("{") { depth += 1 }
            if current.isPunctuation("}") { depth -= 1 }
            advance()
        }
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
