import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The iterators of one worker thread (Kamailio keeps them per process: four header and four
/// body-line iterators, named by the script, that keep their slot from one message to the
/// next). A position belongs to the message it was taken on: on another message an iterator
/// starts again from the beginning (Kamailio would follow freed pointers).
final class IteratorState {
    static let slots = 4
    static let maxName = 32

    /// A header iterator: indexes into `message.headers`.
    struct HeaderIterator {
        var name = ""
        var it: Int? = nil
        var prev: Int? = nil
        var endOfHeaders = false
        weak var owner: MessageContext?
    }

    /// A body-line iterator: the current line as a range of the message buffer.
    struct LineIterator {
        var name = ""
        var body: Range<Int>? = nil
        var line: Range<Int>? = nil
        var endOfBody = false
        weak var owner: MessageContext?
    }

    var headers = [HeaderIterator](repeating: HeaderIterator(), count: slots)
    var lines = [LineIterator](repeating: LineIterator(), count: slots)

    nonisolated(unsafe) private static var key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { p in
            if let p { Unmanaged<IteratorState>.fromOpaque(p).release() }
        }
        return key
    }()

    /// This thread's iterators.
    static var current: IteratorState {
        if let p = pthread_getspecific(key) { return Unmanaged<IteratorState>.fromOpaque(p).takeUnretainedValue() }
        let state = IteratorState()
        pthread_setspecific(key, Unmanaged.passRetained(state).toOpaque())
        return state
    }

    /// The slot of the header iterator `name`, forgetting a position taken on another message.
    func header(_ name: String, _ ctx: MessageContext) -> Int? {
        guard let k = headers.firstIndex(where: { !$0.name.isEmpty && $0.name == name }) else {
            Log.error("textopsx", "iterator not available [\(name)]")
            return nil
        }
        if headers[k].owner !== ctx {
            headers[k] = HeaderIterator(name: name, owner: ctx)
        }
        return k
    }

    /// The slot of the body-line iterator `name`, forgetting a position on another message.
    func line(_ name: String, _ ctx: MessageContext) -> Int? {
        guard let k = lines.firstIndex(where: { !$0.name.isEmpty && $0.name == name }) else {
            Log.error("textopsx", "iterator not available [\(name)]")
            return nil
        }
        if lines[k].owner !== ctx {
            lines[k] = LineIterator(name: name, owner: ctx)
        }
        return k
    }

    /// A slot for starting an iterator: the one of that name, else the first free one.
    static func slot(for name: String, names: [String]) -> Int? {
        names.firstIndex { !$0.isEmpty && $0 == name } ?? names.firstIndex { $0.isEmpty }
    }
}
