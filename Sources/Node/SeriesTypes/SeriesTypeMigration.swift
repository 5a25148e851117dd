extension Migrations {
    /// Series types, their rules and rule attributes (seed 003 `seriestype`, `seriestyperule`,
    /// `seriestyperuleattribute`), and the types each series carries. `by_rule` tells a label set by
    /// rule evaluation (replaced whenever the series is evaluated again) from one set by hand (kept).
    /// `series_type_update.pending` is 1 from a change of rules until every series was relabelled,
    /// so a relabelling cut short by a stop is resumed at the next start.
    static let seriesTypes = """
        CREATE TABLE series_types (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE);
        CREATE TABLE series_type_rules (
            id INTEGER PRIMARY KEY,
            series_type_ref INTEGER NOT NULL REFERENCES series_types(id) ON DELETE CASCADE);
        CREATE INDEX series_type_rules_type ON series_type_rules(series_type_ref);
        CREATE TABLE series_type_rule_attributes (
            id INTEGER PRIMARY KEY,
            rule_ref INTEGER NOT NULL REFERENCES series_type_rules(id) ON DELETE CASCADE,
            tag INTEGER NOT NULL,
            tag_path TEXT,
            match_values TEXT NOT NULL);
        CREATE INDEX series_type_rule_attributes_rule ON series_type_rule_attributes(rule_ref);
        CREATE TABLE series_series_types (
            series_ref INTEGER NOT NULL REFERENCES series(id) ON DELETE CASCADE,
            series_type_ref INTEGER NOT NULL REFERENCES series_types(id) ON DELETE CASCADE,
            by_rule INTEGER NOT NULL,
            PRIMARY KEY (series_ref, series_type_ref)) WITHOUT ROWID;
        CREATE INDEX series_series_types_type ON series_series_types(series_type_ref);
        CREATE TABLE series_type_update (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            pending INTEGER NOT NULL);
        INSERT INTO series_type_update (id, pending) VALUES (1, 0);
        """
}
