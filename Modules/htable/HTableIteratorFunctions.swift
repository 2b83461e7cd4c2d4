import SwiftletSDK

/// `sht_iterator_start/next/end/rm/sets/seti/setex`: walking a table from the script.
/// Iterators belong to the worker thread (Kamailio's are per process), at most four.
extension HTableModule {
    var iteratorFunctions: [ScriptFunction] {
        [
            ScriptFunction("sht_iterator_start", parameters: 2, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) in
                let (iname, tname) = (try args[0].stringFormat(), try args[1].stringFormat())
                return { ctx in
                    guard let i = Self.nonEmpty(iname, ctx, "iterator name"),
                        let n = Self.nonEmpty(tname, ctx, "hash table name")
                    else { return -1 }
                    return self.startIterator(i, table: n) ? 1 : -1
                }
            },
            iteratorFunction("sht_iterator_next") { it, _ in it.next() < 0 ? -1 : 1 },
            ScriptFunction("sht_iterator_end", parameters: 1, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) in
                let iname = try args[0].stringFormat()
                return { ctx in
                    guard let i = Self.nonEmpty(iname, ctx, "iterator name") else { return -1 }
                    guard self.threadState.endIterator(i) else {
                        Log.error("htable", "iterator not found [\(i)]")
                        return -1
                    }
                    return 1
                }
            },
            iteratorFunction("sht_iterator_rm", needsItem: true) { it, _ in
                let r = it.removeCurrent()
                return r == 0 ? 1 : r
            },
            iteratorSetter("sht_iterator_sets", integer: false),
            iteratorSetter("sht_iterator_seti", integer: true),
            iteratorFunction("sht_iterator_setex", extra: true, needsItem: true) { it, value in
                guard case .int(let seconds) = value, let cell = it.current, let t = it.table else { return -1 }
                cell.expire = t.clock() + seconds
                return 1
            },
        ]
    }

    /// Kamailio's `ht_iterator_start`: (re)starts iterator `name` on `table`.
    func startIterator(_ name: String, table: String) -> Bool {
        guard name.utf8.count < HTableThreadState.maximumIteratorName else {
            Log.error("htable", "iterator name is too big [\(name)] (max \(HTableThreadState.maximumIteratorName))")
            return false
        }
        guard let it = threadState.iterator(name, create: true) else {
            Log.error("htable", "no iterator available - max number is \(HTableThreadState.maximumIterators)")
            return false
        }
        it.release()
        it.slot = 0
        it.table = self.table(table)
        guard it.table != nil else {
            Log.error("htable", "cannot get hash table [\(table)]")
            return false
        }
        return true
    }

    /// A function on a started iterator (first argument its name, an optional second a
    /// value: a string, or an integer with `integer`).
    func iteratorFunction(
        _ name: String, extra: Bool = false, integer: Bool = true, needsItem: Bool = false,
        _ body: @escaping (HTIterator, PVValue) -> Int
    ) -> ScriptFunction {
        ScriptFunction(name, parameters: extra ? 2 : 1, routes: .any) { (args: [ScriptArgument]) throws(FixupError) in
            let iname = try args[0].stringFormat()
            let text = extra && !integer ? try args[1].stringFormat() : nil
            let number = extra && integer ? try args[1].intParameter() : nil
            return { ctx in
                let i = iname.render(ctx)
                guard !i.isEmpty || (extra && !integer) else {
                    Log.error("htable", "cannot get iterator name")
                    return -1
                }
                var value = PVValue.null
                if let text { value = .string(text.render(ctx)) }
                if let number {
                    guard let n = number.value(ctx) else {
                        Log.error("htable", "cannot get value")
                        return -1
                    }
                    value = .int(n)
                }
                guard let it = self.threadState.iterator(i, create: false) else {
                    Log.error("htable", "iterator not found [\(i)]")
                    return -1
                }
                guard it.table != nil else {
                    Log.error("htable", "iterator not initialized [\(i)]")
                    return -1
                }
                if needsItem && it.current == nil {
                    Log.error("htable", "iterator not used [\(i)]")
                    return -1
                }
                return body(it, value)
            }
        }
    }

    /// `sht_iterator_sets(it, value)` / `sht_iterator_seti(it, value)`: a new value for the
    /// current item (its expiry renewed with `updateexpire`).
    func iteratorSetter(_ name: String, integer: Bool) -> ScriptFunction {
        iteratorFunction(name, extra: true, integer: integer, needsItem: true) { it, value in
            guard let cell = it.current, let t = it.table, let stored = t.stored(value) else { return -1 }
            cell.value = stored
            if t.definition.updateExpire { cell.expire = t.clock() + t.autoexpire }
            return 1
        }
    }
}
