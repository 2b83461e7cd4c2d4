import SwiftletSDK

/// Writes an RPC result as the body of a binrpc reply, the way Kamailio's ctl writes what a
/// command adds (`binrpc_run.c`):
///
/// * a top-level array is the values the command added one after the other (`rpc->add` per
///   value, what kamcmd prints one a line); an empty array or object is an empty reply;
/// * an object is a struct of named members (AVPs); an array inside a value is a struct of
///   unnamed values (ctl writes `[` as a struct too);
/// * an array whose elements are all one-member objects (`[{"Domain": {...}}]`, Kamailio's
///   `struct_add` on an array handle) is a struct of those named members;
/// * integers that fit 32 bits are ints (`d`; unsigned ones as their signed 32-bit form, as
///   Kamailio's `u`); larger ones are written as Kamailio writes
///   `l`/`L` values: doubles (fixed point, value × 1000); booleans are ints; null is the
///   string `<null string>`.
///
/// Sizes are limited as in Kamailio: the top-level records by `binrpc_max_body_size`
/// (overflow is a 500 fault), the direct content of each struct by
/// `binrpc_struct_max_body_size` (members that do not fit are left out and logged).
struct BinRPCReplyEncoder {
    let maxBodySize: Int
    let maxStructSize: Int

    /// The reply body, or the fault Kamailio sends when the top-level body overflows.
    func body(for result: RPCValue) -> Result<[UInt8], RPCError> {
        let values: [RPCValue]
        switch result {
        case .array(let a): values = a
        case .object(let m) where m.isEmpty: values = []
        default: values = [result]
        }
        var body: [UInt8] = []
        for value in values {
            var own = BinRPCWriter()
            var nested: [UInt8] = []
            let isStruct = write(value, name: nil, into: &own, nested: &nested)
            guard body.count + own.bytes.count <= maxBodySize else {
                return .failure(
                    RPCError(
                        500,
                        "Internal server error processing '\(Self.formatCharacter(value))': "
                            + "\(BinRPC.Failure.overflow.text) (-2)"))
            }
            body += isStruct ? splice(own.bytes, nested) : own.bytes
        }
        return .success(body)
    }

    /// The `rpc->add` formatting character Kamailio uses for such a value.
    static func formatCharacter(_ v: RPCValue) -> Character {
        switch v {
        case .int(let i): Int32(exactly: i) == nil ? "L" : "d"
        case .bool: "d"
        case .double: "f"
        case .string, .null: "s"
        case .array: "["
        case .object: "{"
        }
    }

    /// Writes one value (an AVP when `name` is set) into `own`, the buffer of its container;
    /// a struct's content goes to `nested`, to be placed between its start and end tags.
    /// Returns whether it wrote a struct.
    @discardableResult
    private func write(_ value: RPCValue, name: String?, into own: inout BinRPCWriter, nested: inout [UInt8]) -> Bool {
        if let name { own.string(name, type: BinRPC.typeAVP) }
        switch value {
        case .null: own.string("<null string>")
        case .bool(let b): own.int(b ? 1 : 0)
        case .int(let i):
            // An unsigned 32-bit value (`u`) is a binrpc int too: kamcmd prints it signed.
            if let small = Int32(exactly: i) ?? UInt32(exactly: i).map({ Int32(bitPattern: $0) }) {
                own.int(small)
            } else {
                own.double(Double(i))
            }
        case .double(let d): own.double(d)
        case .string(let s): own.string(s)
        case .array(let elements):
            own.structTag(end: false)
            // Kamailio's idiom `struct_add(array, "{", "Name", ...)` reads in JSON as
            // `[{"Name": {...}}, ...]`; ctl writes it as named members of the array's struct.
            let named = elements.allSatisfy {
                if case .object(let m) = $0 { return m.count == 1 }
                return false
            }
            nested = container(
                named && !elements.isEmpty
                    ? elements.map { if case .object(let m) = $0 { return (m[0].0, m[0].1) } else { return (nil, $0) } }
                    : elements.map { (nil, $0) })
            own.structTag(end: true)
            return true
        case .object(let members):
            own.structTag(end: false)
            nested = container(members.map { ($0.0, $0.1) })
            own.structTag(end: true)
            return true
        }
        return false
    }

    /// The content of a struct: its members, each kept only if it fits the struct's budget.
    private func container(_ members: [(String?, RPCValue)]) -> [UInt8] {
        var out: [UInt8] = []
        var used = 0
        for (name, value) in members {
            var own = BinRPCWriter()
            var nested: [UInt8] = []
            let isStruct = write(value, name: name, into: &own, nested: &nested)
            guard used + own.bytes.count <= maxStructSize else {
                Log.error("ctl", "failed to add attribute-value (\(Self.formatCharacter(value)))")
                continue
            }
            used += own.bytes.count
            out += isStruct ? splice(own.bytes, nested) : own.bytes
        }
        return out
    }

    /// `own` (ending with a struct's start and end tags) with `nested` between the two.
    private func splice(_ own: [UInt8], _ nested: [UInt8]) -> [UInt8] {
        Array(own.dropLast()) + nested + [0x80 | BinRPC.typeStruct]
    }
}
