#if canImport(Glibc)
    import Glibc
#endif

/// Kamailio's xavu lists (`$xavu(root=>field)`): extended AVPs whose names are unique (a
/// root holds one value or one list of fields, each field one value; assigning replaces).
/// Kamailio keeps them per process and empties them when a received message has been
/// handled (`ksr_msg_env_reset`); here they belong to the worker thread and the core empties
/// them after each received message. Modules read them from hooks that run on the thread
/// of the message, such as topos' `xavu_field_*` parameters in its sending hook.
public enum ScriptXAVU {
    final class Roots {
        var items: [XAVP] = []
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { raw in
            guard let raw else { return }
            Unmanaged<Roots>.fromOpaque(raw).release()
        }
        return key
    }()

    private static var roots: Roots {
        if let raw = pthread_getspecific(key) { return Unmanaged<Roots>.fromOpaque(raw).takeUnretainedValue() }
        let r = Roots()
        pthread_setspecific(key, Unmanaged.passRetained(r).toOpaque())
        return r
    }

    /// The calling thread's roots.
    public static var items: [XAVP] { roots.items }

    /// The value of `root` (a `.list` when it holds fields), nil when there is none.
    public static func value(_ root: String) -> XAVP.Value? {
        roots.items.first { $0.name == root }?.value
    }

    /// The value of `field` in `root`, nil when there is none.
    public static func value(_ root: String, _ field: String) -> XAVP.Value? {
        guard case .list(let fields)? = value(root) else { return nil }
        return fields.first { $0.name == field }?.value
    }

    /// The string value of `field` in `root` (Kamailio's `xavu_get_child_with_sval`): nil
    /// when there is none or it is an integer.
    public static func string(_ root: String, _ field: String) -> String? {
        if case .string(let s)? = value(root, field) { return s }
        return nil
    }

    /// Sets `root` to `value` (`xavu_set_xval`); nil removes it (`xavu_rm_by_name`).
    public static func set(_ root: String, _ value: XAVP.Value?) {
        let r = roots
        guard let value else {
            r.items.removeAll { $0.name == root }
            return
        }
        if let i = r.items.firstIndex(where: { $0.name == root }) {
            r.items[i].value = value
        } else {
            r.items.insert(XAVP(name: root, value: value), at: 0)
        }
    }

    /// Sets `field` of `root` to `value`, creating the root (`xavu_set_child_xval`); nil
    /// removes the field (`xavu_rm_child_by_name`).
    public static func set(_ root: String, _ field: String, _ value: XAVP.Value?) {
        let r = roots
        guard let i = r.items.firstIndex(where: { $0.name == root }) else {
            if let value { r.items.insert(XAVP(name: root, value: .list([XAVP(name: field, value: value)])), at: 0) }
            return
        }
        var fields: [XAVP] = []
        if case .list(let f) = r.items[i].value { fields = f }
        if let value {
            if let j = fields.firstIndex(where: { $0.name == field }) {
                fields[j].value = value
            } else {
                fields.insert(XAVP(name: field, value: value), at: 0)
            }
        } else {
            fields.removeAll { $0.name == field }
        }
        r.items[i].value = .list(fields)
    }

    /// Empties the calling thread's roots (the core, after each received message).
    @inline(__always)
    public static func reset() {
        guard let raw = pthread_getspecific(key) else { return }
        let r = Unmanaged<Roots>.fromOpaque(raw).takeUnretainedValue()
        if !r.items.isEmpty { r.items.removeAll() }
    }
}
