extension PreprocessedConfig {
    /// The preprocessed configuration as text (`swiftlet --cfg-print`), rebuilt from the
    /// tokens: a line for each source line that still has tokens, each token's raw text at
    /// its original column where the line allows it (the tokens of a define's value take the
    /// place of the name, separated as in the value). One blank line stands for any run of
    /// blank, comment-only or skipped lines of the same file.
    ///
    /// Kamailio's `--cfg-print` prints the text itself instead: comments, the `#!define` and
    /// other directive lines are kept and defined names are *not* substituted; only the
    /// `#!ifdef` regions left out and the included files spliced in.
    public var text: String {
        var out: [String] = []
        var line = ""
        var previous: Token? = nil
        for t in tokens where t.kind != .endOfFile {
            if let p = previous, p.location.file == t.location.file, p.location.line == t.location.line {
                let gap = t.location.column - (p.location.column + p.range.count)
                line += String(repeating: " ", count: gap > 0 ? gap : (t.spaceBefore ? 1 : 0))
            } else {
                if let p = previous {
                    out.append(line)
                    if p.location.file == t.location.file, t.location.line > p.location.line + 1 { out.append("") }
                }
                line = String(repeating: " ", count: max(0, t.location.column - 1))
            }
            line += t.raw
            previous = t
        }
        if previous != nil { out.append(line) }
        return out.map { $0 + "\n" }.joined()
    }
}
