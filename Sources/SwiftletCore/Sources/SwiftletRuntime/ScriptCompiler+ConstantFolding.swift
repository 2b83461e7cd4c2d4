import SwiftletSDK

/// A constant value of a script expression, folded at start-up.
enum FoldedConstant: Equatable {
    case int(Int)
    case string(String)
}

extension ScriptCompiler {
    /// Folds an expression made only of literals, as Kamailio's `rval` fixup does for function
    /// parameters: `"g=" + GREETING + "\n"` (with `#!define GREETING "hi"`) is one string. The
    /// left operand's type decides: a string `+` anything concatenates; integers take the
    /// arithmetic and bitwise operators. Returns nil for anything that is not constant.
    static func foldConstant(_ e: Expression) -> FoldedConstant? {
        switch e {
        case .integer(let v, _): return .int(v)
        case .string(let s, _): return .string(s)
        case .unary(op: "-", operand: let operand, _):
            if case .int(let v)? = foldConstant(operand) { return .int(-v) }
            return nil
        case .binary(let op, let lhs, let rhs, _):
            guard let l = foldConstant(lhs), let r = foldConstant(rhs) else { return nil }
            switch (l, r) {
            case (.string(let a), .string(let b)) where op == "+": return .string(a + b)
            case (.string(let a), .int(let b)) where op == "+": return .string(a + String(b))
            case (.int(let a), .int(let b)): return foldInteger(op, a, b).map { .int($0) }
            default: return nil
            }
        default: return nil
        }
    }

    private static func foldInteger(_ op: String, _ a: Int, _ b: Int) -> Int? {
        switch op {
        case "+": return a &+ b
        case "-": return a &- b
        case "*": return a &* b
        case "/": return b == 0 ? nil : a / b
        case "%": return b == 0 ? nil : a % b
        case "|": return a | b
        case "&": return a & b
        case "^": return a ^ b
        default: return nil
        }
    }
}
