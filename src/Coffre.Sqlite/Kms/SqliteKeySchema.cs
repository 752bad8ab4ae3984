namespace Coffre.Sqlite.Kms;

/// <summary>
/// The tables of keys.db (docs/format.md §6.3–§6.4, §9). <see cref="Version"/> is in PRAGMA user_version; tables
/// added since without changing it are created if missing each time the file is opened (<see cref="Additions"/>), so
/// a data directory made by an older Coffre gains them on its first open. A change to an existing table bumps the
/// version and adds its step to <see cref="Upgrades"/>, run in place on open.
/// </summary>
internal static class SqliteKeySchema
{
    public const int Version = 2;

    public const string Create = """
        CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE generation (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
        INSERT INTO generation (id, value) VALUES (1, 0);
        CREATE TABLE keys (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            description TEXT,
            created TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('enabled', 'disabled', 'pending_destruction', 'destroyed')),
            state_before_destruction TEXT CHECK (state_before_destruction IN ('enabled', 'disabled')),
            primary_version INTEGER NOT NULL CHECK (primary_version >= 1),
            min_decryption_version INTEGER NOT NULL CHECK (min_decryption_version >= 1),
            rotation_period_seconds INTEGER CHECK (rotation_period_seconds > 0),
            next_rotation TEXT,
            destruction_date TEXT,
            tags TEXT NOT NULL DEFAULT '{}',
            key_spec TEXT NOT NULL DEFAULT 'SYMMETRIC_DEFAULT',
            key_usage TEXT NOT NULL DEFAULT 'ENCRYPT_DECRYPT'
        ) WITHOUT ROWID;
        CREATE TABLE key_versions (
            key_id TEXT NOT NULL REFERENCES keys (id),
            version INTEGER NOT NULL CHECK (version >= 1),
            state TEXT NOT NULL CHECK (state IN ('enabled', 'disabled', 'destroyed')),
            created TEXT NOT NULL,
            destroyed TEXT,
            material BLOB,
            PRIMARY KEY (key_id, version),
            CHECK ((state = 'destroyed') = (material IS NULL))
        );
        CREATE TABLE aliases (
            alias TEXT PRIMARY KEY,
            key_id TEXT NOT NULL REFERENCES keys (id),
            created TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE audit (
            seq INTEGER PRIMARY KEY,
            time TEXT NOT NULL,
            principal TEXT NOT NULL,
            operation TEXT NOT NULL,
            key_id TEXT,
            key_name TEXT,
            key_version INTEGER,
            context TEXT,
            result TEXT NOT NULL,
            prev_hash BLOB NOT NULL,
            hash BLOB NOT NULL
        );
        CREATE INDEX audit_key_id ON audit (key_id);
        CREATE INDEX audit_time ON audit (time);
        """;

    /// <summary>Upgrades[v - 1] takes a keys.db from version v to v + 1 (run in one transaction with the new user_version).</summary>
    public static readonly IReadOnlyList<string> Upgrades =
    [
        // 1 → 2: RSA keys (KeyManager.Asymmetric.cs); every key made before is a symmetric ENCRYPT_DECRYPT key.
        """
        ALTER TABLE keys ADD COLUMN key_spec TEXT NOT NULL DEFAULT 'SYMMETRIC_DEFAULT';
        ALTER TABLE keys ADD COLUMN key_usage TEXT NOT NULL DEFAULT 'ENCRYPT_DECRYPT';
        """,
    ];

    /// <summary>Access keys (§6.4), audit checkpoints (§9) and leases of background work.</summary>
    public const string Additions = """
        CREATE TABLE IF NOT EXISTS access_keys (
            id TEXT PRIMARY KEY,
            description TEXT,
            grants TEXT NOT NULL,
            wrapped_secret BLOB,
            created TEXT NOT NULL,
            created_by TEXT NOT NULL,
            updated TEXT NOT NULL,
            revoked TEXT,
            revision INTEGER NOT NULL CHECK (revision >= 1),
            CHECK ((revoked IS NULL) = (wrapped_secret IS NOT NULL))
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS access_key_generation (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
        INSERT OR IGNORE INTO access_key_generation (id, value) VALUES (1, 0);
        CREATE TABLE IF NOT EXISTS audit_signing_key (
            id INTEGER PRIMARY KEY CHECK (id = 1), public_key BLOB NOT NULL, wrapped_private_key BLOB NOT NULL);
        CREATE TABLE IF NOT EXISTS audit_checkpoints (
            seq INTEGER PRIMARY KEY, hash BLOB NOT NULL, time TEXT NOT NULL, signature BLOB NOT NULL);
        CREATE TABLE IF NOT EXISTS audit_checkpoint_chain (
            number INTEGER PRIMARY KEY, seq INTEGER NOT NULL, hash BLOB NOT NULL, previous BLOB NOT NULL,
            time TEXT NOT NULL, signature BLOB NOT NULL);
        CREATE TABLE IF NOT EXISTS leases (
            name TEXT PRIMARY KEY, holder TEXT NOT NULL, token INTEGER NOT NULL CHECK (token >= 1),
            expires INTEGER NOT NULL) WITHOUT ROWID;
        """;
}
