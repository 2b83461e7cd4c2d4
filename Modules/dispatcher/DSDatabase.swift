import SwiftletSDK

/// Loading the sets from `db_url` (Kamailio's `ds_load_db`): the columns the table's version
/// has (1: setid, destination; 2: + flags; 3: + priority; 4: + attrs and the
/// `ds_db_extra_attrs` columns appended to the attributes as `name=value;`).
extension DispatcherModule {
    /// Reads the table and installs the list; false when one or more rows were skipped
    /// (Kamailio's -2, a warning).
    @discardableResult
    func loadDatabase() throws -> Bool {
        guard let database else { throw DSLoadError("invalid DB handler") }
        var columns = [settings.setIDColumn, settings.destinationColumn]
        if tableVersion >= 2 { columns.append(settings.flagsColumn) }
        if tableVersion >= 3 { columns.append(settings.priorityColumn) }
        if tableVersion >= 4 {
            columns.append(settings.attrsColumn)
            columns += extraAttributes.map(\.column)
        }
        let result = try database.query(settings.table, columns: columns)
        if result.rows.isEmpty { Log.warning("dispatcher", "no dispatching data in the db -- empty destination set") }
        var builder = DSListBuilder(builderSettings)
        var errors = 0
        for row in result.rows {
            let id = row[0].intValue ?? 0
            let uri = row[1].textValue ?? ""
            let flags = columns.count >= 3 ? row[2].intValue ?? 0 : 0
            let priority = columns.count >= 4 ? row[3].intValue ?? 0 : 0
            var attrs = columns.count >= 5 ? row[4].textValue ?? "" : ""
            if !extraAttributes.isEmpty {
                if !attrs.isEmpty, !attrs.hasSuffix(";") { attrs += ";" }
                for (k, extra) in extraAttributes.enumerated() {
                    if let v = row[5 + k].textValue, !v.isEmpty { attrs += "\(extra.name)=\(v);" }
                }
            }
            do {
                try builder.add(set: id, uri: uri, flags: flags, priority: priority, attrs: attrs)
            } catch {
                errors += 1
                Log.warning("dispatcher", "unable to add destination \(uri) to set \(id) -- skipping")
                if settings.loadMode == 1 { throw error }
            }
        }
        install(builder.build())
        if errors > 0 { Log.warning("dispatcher", "failure while loading one or more dispatcher entries") }
        return errors == 0
    }
}
