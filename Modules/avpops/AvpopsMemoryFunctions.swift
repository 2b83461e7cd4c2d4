import SwiftletSDK

/// avpops' functions on the message's AVPs: `avp_delete`, `avp_copy`, `avp_pushto`,
/// `avp_op`, `avp_subst`, `avp_subst_pv`, `is_avp_set` and `avp_print` (`avp_check` is in
/// AvpopsCheck.swift), as Kamailio 5.6's avpops_impl.c.
enum AvpopsMemoryFunctions {
    static func requireAVP(_ text: String, _ arg: ScriptArgument) throws(FixupError) -> AVPReference {
        guard let avp = try AVPReference(text) else {
            throw FixupError("bad param; expected : $avp(name), not \(text)", at: arg.location)
        }
        return avp
    }

    /// `avp_delete(name)`: `$avp(x)[/g]` removes the newest value (all with `g`); matching
    /// flags (`a`, `i`, `s`) remove every AVP of that name type. 1 when something was removed.
    static func delete(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let (spec, flags) = splitFlags(try args[0].rawText())
        var all = false
        for f in flags ?? "" {
            guard f == "g" || f == "G" else { throw FixupError("bad flag <\(f)>", at: args[0].location) }
            all = true
        }
        if spec.hasPrefix("$") {
            let avp = try requireAVP(spec, args[0])
            return { ctx in
                guard let key = avp.key(ctx), !AVPList.values(ctx, key).isEmpty else { return -1 }
                if all { AVPList.removeAll(ctx, key) } else { AVPList.remove(ctx, key, at: 0) }
                return 1
            }
        }
        let match = try AVPMatchingFlags(spec)
        return { ctx in
            let names = AVPList.names(ctx, type: match.type)
            for key in names { AVPList.removeAll(ctx, key) }
            return names.isEmpty ? -1 : 1
        }
    }

    /// `avp_copy(src, dst[/flags])`: `g` every value (the copies in reverse order), `d` moves,
    /// `n`/`s` convert to integer/string. 1 when something was copied.
    static func copy(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let src = try requireAVP(try args[0].rawText(), args[0])
        let (dstText, flags) = splitFlags(try args[1].rawText())
        let dst = try requireAVP(dstText, args[1])
        var all = false
        var move = false
        var toInt = false
        var toString = false
        for f in flags ?? "" {
            switch f {
            case "g", "G": all = true
            case "d", "D": move = true
            case "n", "N": toInt = true
            case "s", "S": toString = true
            default: throw FixupError("bad flag <\(f)>", at: args[1].location)
            }
        }
        return { ctx in
            guard let from = src.key(ctx), let to = dst.key(ctx) else { return -1 }
            let values = AVPList.values(ctx, from)
            var copied = 0
            for v in all ? values : Array(values.prefix(1)) {
                var value = v
                if toInt, case .string(let s) = v {
                    guard let n = unsignedNumber(s) else {
                        Log.error("avpops", "cannot convert str to int")
                        return -1
                    }
                    value = .int(n)
                } else if toString, case .int(let n) = v {
                    value = .string(String(n))
                }
                AVPList.add(ctx, to, value)
                copied += 1
                if move { AVPList.remove(ctx, from, at: from == to ? copied : 0) }
            }
            return copied > 0 ? 1 : -1
        }
    }

    /// `is_avp_set(name[/flags])`: whether the AVP (at its index) exists; `e` its value is
    /// empty or 0, `s` a string, `n` an integer.
    static func isSet(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let (spec, flags) = splitFlags(try args[0].rawText())
        let avp = try requireAVP(spec, args[0])
        var empty = false
        var mustBeString = false
        var mustBeInt = false
        for f in flags ?? "" {
            switch f {
            case "e", "E": empty = true
            case "n",
                "N" where !mustBeString:
                mustBeInt = true
            case "s",
                "S" where !mustBeInt:
                mustBeString = true
            case "n", "N", "s", "S": throw FixupError("invalid flag combination <\(f)>", at: args[0].location)
            default: throw FixupError("bad flag <\(f)>", at: args[0].location)
            }
        }
        let any = (flags ?? "").isEmpty
        return { ctx in
            guard let key = avp.key(ctx) else { return -1 }
            let values = AVPList.values(ctx, key)
            var index = 0
            if case .position(let p)? = avp.index.resolve(ctx), p > 0 { index = p }
            guard index < values.count else { return -1 }
            if any { return 1 }
            let value = values[index]
            switch value {
            case .string(let s):
                if mustBeInt { return -1 }
                if empty { return s.isEmpty ? 1 : -1 }
            case .int(let n):
                if mustBeString { return -1 }
                if empty { return n == 0 ? 1 : -1 }
            case .null: return -1
            }
            return 1
        }
    }

    /// `avp_print()`: logs every AVP of the message at INFO.
    static func print(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        { ctx in
            for key in AVPList.names(ctx, type: nil) {
                let flags = AVPList.flags(ctx, key)
                for (i, value) in AVPList.values(ctx, key).enumerated() {
                    Log.info("avpops", "p=\(key)[\(i)], flags=0x\(String(flags[i], radix: 16))")
                    if AVPList.isIntegerName(key) {
                        Log.info("avpops", "\t\t\tid=<\(AVPList.plainName(key))>")
                    } else {
                        Log.info("avpops", "\t\t\tname=<\(key)>")
                    }
                    switch value {
                    case .int(let n): Log.info("avpops", "\t\t\tval_int=<\(n)>")
                    default: Log.info("avpops", "\t\t\tval_str=<\(value.printed) / \(value.printed.utf8.count)>")
                    }
                }
            }
            return 1
        }
    }
}
