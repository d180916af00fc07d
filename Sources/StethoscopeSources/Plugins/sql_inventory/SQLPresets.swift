/// The shipped queries: LANDESK / Ivanti EPM and Microsoft MECM (SCCM).
///
/// The SQL is plain SQL-92 (LEFT JOIN, IN, quoted identifiers; no `TOP`, `LIMIT`, `NOLOCK`, `+` or `||`)
/// so it runs unchanged on SQL Server (with `QUOTED_IDENTIFIER ON`, the ODBC default) and on the
/// PostgreSQL test database, whose tables carry the same, case-sensitive names. `$findings` is replaced
/// by the configured finding ids as quoted literals.
enum SQLPresets {
    static func queries(_ preset: String) -> [SQLQuery] {
        switch preset {
        case "landesk": return landesk
        case "mecm": return mecm
        default: return []
        }
    }

    /// A cheap query for `stethoscope check`: proves the login can read the main table.
    static func check(_ preset: String) -> String? {
        switch preset {
        case "landesk": return #"SELECT COUNT(*) FROM "Computer""#
        case "mecm": return #"SELECT COUNT(*) FROM "v_R_System""#
        default: return nil
        }
    }

    static let landesk: [SQLQuery] = [
        SQLQuery(
            name: "devices",
            sql: """
                SELECT A0."Computer_Idn", A0."DEVICEID", A0."DISPLAYNAME", A0."LASTUPDINVSVR", A0."HWLASTSCANDATE",
                       A0."SWLASTSCANDATE", A1."EMAILADDR", A2."MODEL", A2."MANUFACTURER", A2."SERIALNUM", A2."SYSTEMVERSION",
                       A3."PROTECTIONSTATUS", A3."CONVERSIONSTATUS", A3."ENCRYPTIONPERCENTAGE",
                       A4."CURRENTBUILD", A4."CURRENTVERSION", A4."RELEASEID", A5."OSTYPE"
                FROM "Computer" A0
                LEFT JOIN "LDAPUserAttrV" A1 ON A0."Computer_Idn" = A1."Computer_Idn"
                LEFT JOIN "CompSystem" A2 ON A0."Computer_Idn" = A2."Computer_Idn"
                LEFT JOIN "BitLocker" A3 ON A0."Computer_Idn" = A3."Computer_Idn"
                LEFT JOIN "OSNT" A4 ON A0."Computer_Idn" = A4."Computer_Idn"
                LEFT JOIN "Operating_System" A5 ON A0."Computer_Idn" = A5."Computer_Idn"
                """,
            columns: [
                .id: "Computer_Idn", .deviceID: "DEVICEID", .name: "DISPLAYNAME", .lastSync: "LASTUPDINVSVR",
                .hwScan: "HWLASTSCANDATE", .swScan: "SWLASTSCANDATE", .email: "EMAILADDR", .model: "MODEL",
                .manufacturer: "MANUFACTURER", .serial: "SERIALNUM", .systemVersion: "SYSTEMVERSION",
                .bitlockerProtection: "PROTECTIONSTATUS", .bitlockerConversion: "CONVERSIONSTATUS",
                .bitlockerPercent: "ENCRYPTIONPERCENTAGE", .osBuild: "CURRENTBUILD", .osVersion: "CURRENTVERSION",
                .osRelease: "RELEASEID", .osName: "OSTYPE"
            ]),
        SQLQuery(
            name: "adapters",
            sql: """
                SELECT "Computer_Idn", "PhysAddress", "FirewallEnabled" FROM "BoundAdapter"
                """,
            columns: [.id: "Computer_Idn", .mac: "PhysAddress", .firewall: "FirewallEnabled"]),
        SQLQuery(
            name: "software",
            sql: """
                SELECT "Computer_Idn", "SuiteName", "Version" FROM "AppSoftwareSuites"
                """,
            columns: [.id: "Computer_Idn", .softwareName: "SuiteName", .softwareVersion: "Version"]),
        SQLQuery(
            name: "findings",
            sql: """
                SELECT "Computer_Idn", "Vul_ID", "Reason" FROM "CVDetectedV" WHERE "Vul_ID" IN ($findings)
                """,
            columns: [.id: "Computer_Idn", .findingID: "Vul_ID", .findingReason: "Reason"])
    ]

    static let mecm: [SQLQuery] = [
        SQLQuery(
            name: "devices",
            sql: """
                SELECT S."ResourceID", S."Netbios_Name0", S."SMS_Unique_Identifier0", S."User_Name0",
                       U."Mail0", U."User_Principal_Name0", OS."Caption0", OS."Version0", OS."BuildNumber0", OS."TimeStamp",
                       CS."Manufacturer0", CS."Model0", B."SerialNumber0", EV."ProtectionStatus0"
                FROM "v_R_System" S
                LEFT JOIN "v_R_User" U ON U."User_Name0" = S."User_Name0" AND U."Windows_NT_Domain0" = S."User_Domain0"
                LEFT JOIN "v_GS_OPERATING_SYSTEM" OS ON OS."ResourceID" = S."ResourceID"
                LEFT JOIN "v_GS_COMPUTER_SYSTEM" CS ON CS."ResourceID" = S."ResourceID"
                LEFT JOIN "v_GS_PC_BIOS" B ON B."ResourceID" = S."ResourceID"
                LEFT JOIN "v_GS_ENCRYPTABLE_VOLUME" EV ON EV."ResourceID" = S."ResourceID" AND EV."DriveLetter0" = 'C:'
                WHERE S."Obsolete0" = 0 OR S."Obsolete0" IS NULL
                """,
            columns: [
                .id: "ResourceID", .name: "Netbios_Name0", .deviceID: "SMS_Unique_Identifier0", .username: "User_Name0",
                .email: "Mail0", .upn: "User_Principal_Name0", .osName: "Caption0", .osVersion: "Version0",
                .osBuild: "BuildNumber0", .lastSync: "TimeStamp", .manufacturer: "Manufacturer0", .model: "Model0",
                .serial: "SerialNumber0", .bitlockerProtection: "ProtectionStatus0"
            ]),
        SQLQuery(
            name: "adapters",
            sql: """
                SELECT "ResourceID", "MAC_Addresses0" FROM "v_RA_System_MACAddresses"
                """,
            columns: [.id: "ResourceID", .mac: "MAC_Addresses0"]),
        SQLQuery(
            name: "firewall",
            sql: """
                SELECT "ResourceID", "productState0" FROM "v_GS_FIREWALL_PRODUCT"
                """,
            columns: [.id: "ResourceID", .firewallProductState: "productState0"]),
        SQLQuery(
            name: "software",
            sql: """
                SELECT "ResourceID", "ProductName0", "ProductVersion0" FROM "v_GS_INSTALLED_SOFTWARE"
                """,
            columns: [.id: "ResourceID", .softwareName: "ProductName0", .softwareVersion: "ProductVersion0"])
    ]
}
