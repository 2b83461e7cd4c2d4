import Testing

@testable import SwiftletSDK

/// Statements written as bytes (`appendQuoted`, `appendLiteral`, the INSERT prefix kept for
/// rows of one column array) are the same text as the string-built ones.
struct DatabaseSQLTextTests {
    /// The string forms only: the default `append*` of a dialect go through them.
    struct Quoting: SQLDialect {
        func quote(_ name: String) -> String { "[" + name + "]" }
        func literal(_ value: DatabaseValue) -> String { "<" + (value.textValue ?? "NULL") + ">" }
        var hasReplace: Bool { false }
        func upsertClause(uniqueKeys: [String], assignments: [String]) -> String? { nil }
    }

    @Test func decimalsAreWrittenAsStringDoesThem() {
        for v: Int64 in [0, 1, 9, 10, 42, 99, 100, 12345, -1, -9, -10, -12345, .max, .min] {
            var out: [UInt8] = Array("x".utf8)
            Quoting.appendDecimal(v, to: &out)
            #expect(String(decoding: out, as: UTF8.self) == "x" + String(v))
        }
    }

    @Test func datetimesAreWrittenAsFormatDateTimeDoesThem() {
        for t in [0, 1, 59, 86_399, 951_782_400, 1_700_000_000, 1_800_000_000, 4_102_444_800] {
            var out: [UInt8] = []
            DatabaseValue.appendDateTime(t, to: &out)
            #expect(String(decoding: out, as: UTF8.self) == DatabaseValue.formatDateTime(t))
        }
    }

    @Test func enclosedTextRefusesTheQuoteAndTheRefusedByte() {
        var out: [UInt8] = []
        #expect(Quoting.appendEnclosed("abc", in: 39, unless: 0, to: &out))
        #expect(String(decoding: out, as: UTF8.self) == "'abc'")
        #expect(!Quoting.appendEnclosed("a'b", in: 39, unless: 0, to: &out))
        #expect(!Quoting.appendEnclosed("a\0b", in: 39, unless: 0, to: &out))
        #expect(String(decoding: out, as: UTF8.self) == "'abc'")
    }

    @Test func rowsOfOneColumnArrayMakeTheSameInsertsAsNamedValues() {
        let columns = ["ruid", "cseq", "expires"]
        let rows: [[DatabaseValue]] = [[.string("a"), .int(1), .datetime(0)], [.string("b"), .null, .int(-3)]]
        var prefixes = InsertPrefixes()
        for values in rows {
            var sql: [UInt8] = []
            DatabaseStatement.insertRow("location", columns: columns, values: values)
                .append(Quoting(), to: &sql, prefixes: &prefixes)
            #expect(
                String(decoding: sql, as: UTF8.self)
                    == Database.insertSQL("location", Array(zip(columns, values)), Quoting()))
        }
        #expect(
            DatabaseStatement.insertRow("other", columns: columns, values: rows[0]).sql(Quoting())
                == "INSERT INTO [other] ([ruid],[cseq],[expires]) VALUES (<a>,<1>,<"
                + DatabaseValue.formatDateTime(0) + ">)")
    }
}
