/// Fleet REST API shapes (`/api/v1/fleet/...`), only the fields Stethoscope maps.
struct FleetHostsPage: Decodable { var hosts: [FleetHost] }
struct FleetHostDetail: Decodable { var host: FleetHost }
struct FleetCount: Decodable { var count: Int }
struct FleetMe: Decodable {
    var user: User
    struct User: Decodable {
        var email: String?
        var name: String?
    }
}

struct FleetHost: Decodable {
    var id: Int
    var uuid: String?
    var hostname: String?
    var computer_name: String?
    var display_name: String?
    var platform: String?
    var os_version: String?
    var hardware_model: String?
    var hardware_serial: String?
    var primary_mac: String?
    var seen_time: String?
    var detail_updated_at: String?
    var policy_updated_at: String?
    var mdm: MDM?
    var policies: [Policy]?
    var device_mapping: [DeviceMapping]?
    /// Host detail only.
    @LooseBool var disk_encryption_enabled: Bool?

    struct MDM: Decodable {
        var os_settings: OSSettings?
        struct OSSettings: Decodable {
            var disk_encryption: DiskEncryption?
            struct DiskEncryption: Decodable { var status: String? }
        }
    }
    struct Policy: Decodable {
        var id: Int
        var name: String
        var response: String?
    }
    struct DeviceMapping: Decodable {
        var email: String
        var source: String?
    }
}
