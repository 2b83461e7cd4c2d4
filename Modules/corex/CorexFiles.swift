import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// `file_read(path, $var(x))` and `file_write(path, content)`.
extension CorexModule {
    static var fileFunctions: [ScriptFunction] {
        [
            ScriptFunction("file_read", parameters: 2, routes: .any, fixup: CorexFiles.fileRead),
            ScriptFunction("file_write", parameters: 2, routes: .any, fixup: CorexFiles.fileWrite),
        ]
    }
}

enum CorexFiles {
    /// Reads the whole file into a writable pseudo-variable (as a string); -1 when it cannot
    /// be opened.
    static func fileRead(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let path = try args[0].stringFormat()
        let text: String
        switch args[1].value {
        case .pseudoVariable(let p), .string(let p): text = p.trimmingCharacters()
        case .int(let i): throw FixupError("a pseudo-variable is required here, not \(i)", at: args[1].location)
        }
        let pv: PseudoVariable
        do throws(FixupError) {
            pv = try PseudoVariableRegistry.shared.compile(text)
        } catch {
            throw FixupError(error.message, at: args[1].location)
        }
        guard let set = pv.set else { throw FixupError("result pvar is not writeble", at: args[1].location) }
        return { ctx in
            let name = path.render(ctx)
            guard !name.isEmpty else {
                Log.error("corex", "cannot get file path")
                return -1
            }
            guard let bytes = read(name) else {
                Log.error("corex", "cannot open file: \(name)")
                return -1
            }
            _ = set(ctx, .string(String(decoding: bytes, as: UTF8.self)))
            return 1
        }
    }

    /// Writes the content to the file (created or truncated); -1 for an empty content or a
    /// file that cannot be opened.
    static func fileWrite(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let path = try args[0].stringFormat()
        let content = try args[1].stringFormat()
        return { ctx in
            let name = path.render(ctx)
            guard !name.isEmpty else {
                Log.error("corex", "cannot get file path")
                return -1
            }
            let data = content.render(ctx)
            guard !data.isEmpty else {
                Log.error("corex", "cannot get the content")
                return -1
            }
            guard let f = fopen(name, "w") else {
                Log.error("corex", "cannot open file: \(name)")
                return -1
            }
            let bytes = Array(data.utf8)
            _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
            fclose(f)
            return 1
        }
    }

    static func read(_ path: String) -> [UInt8]? {
        guard let f = fopen(path, "r") else { return nil }
        defer { fclose(f) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
            if n > 0 { out.append(contentsOf: buffer[0..<n]) }
            if n < buffer.count { break }
        }
        return out
    }
}
