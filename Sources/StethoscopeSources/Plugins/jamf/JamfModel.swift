/// The Jamf Pro API `computers-inventory` page and the Classic API computer, only the fields Stethoscope maps.
/// Unrequested sections come back `null`, so every section is optional.
struct JamfPage: Decodable {
    var totalCount: Int
    var results: [JamfComputer]
}

struct JamfComputer: Decodable {
    var id: String
    var udid: String?
    var general: General?
    var hardware: Hardware?
    var operatingSystem: OperatingSystem?
    var diskEncryption: DiskEncryption?
    var security: Security?
    var userAndLocation: UserAndLocation?
    var extensionAttributes: [ExtensionAttribute]?
    var applications: [Application]?
    var services: [Service]?

    struct General: Decodable {
        var name: String?
        var platform: String?
        var reportDate: String?
        var lastContactTime: String?
        /// v4's name for `lastContactTime`.
        var lastContact: String?
        var lastLoggedInUsernameBinary: String?
        var extensionAttributes: [ExtensionAttribute]?
    }
    struct Hardware: Decodable {
        var model: String?
        var serialNumber: String?
        var macAddress: String?
        var altMacAddress: String?
        var extensionAttributes: [ExtensionAttribute]?
    }
    struct OperatingSystem: Decodable {
        var name: String?
        var version: String?
        var build: String?
        var fileVault2Status: String?
        var extensionAttributes: [ExtensionAttribute]?
    }
    struct DiskEncryption: Decodable {
        var bootPartitionEncryptionDetails: BootPartition?
        @LooseBool var fileVault2Enabled: Bool?
        struct BootPartition: Decodable {
            var partitionName: String?
            var partitionFileVault2State: String?
            var partitionFileVault2Percent: Int?
        }
    }
    struct Security: Decodable {
        var sipStatus: String?
        var gatekeeperStatus: String?
        @LooseBool var autoLoginDisabled: Bool?
        @LooseBool var firewallEnabled: Bool?
    }
    struct UserAndLocation: Decodable {
        var username: String?
        var email: String?
        var extensionAttributes: [ExtensionAttribute]?
    }
    struct ExtensionAttribute: Decodable {
        var name: String
        var values: [String?]?
    }
    struct Application: Decodable {
        var name: String?
        var version: String?
        var bundleId: String?
    }
    struct Service: Decodable {
        var name: String?
    }
}

/// `GET /JSSResource/computers`.
struct ClassicList: Decodable {
    var computers: [Entry]
    struct Entry: Decodable {
        var id: Int
        var name: String?
    }
}

/// `GET /JSSResource/computers/id/{id}`.
struct ClassicEnvelope: Decodable { var computer: ClassicComputer }

struct ClassicComputer: Decodable {
    var general: General?
    var location: Location?
    var hardware: Hardware?
    var security: Security?
    var software: Software?
    var extension_attributes: [ExtensionAttribute]?

    struct General: Decodable {
        var id: Int
        var name: String?
        var mac_address: String?
        var alt_mac_address: String?
        var serial_number: String?
        var udid: String?
        var platform: String?
        var report_date_utc: String?
        var last_contact_time_utc: String?
    }
    struct Location: Decodable {
        var username: String?
        var email_address: String?
    }
    struct Hardware: Decodable {
        var model: String?
        var os_name: String?
        var os_version: String?
        var sip_status: String?
        var gatekeeper_status: String?
        var storage: [Storage]?
    }
    struct Storage: Decodable {
        var disk: String?
        var drive_capacity_mb: Int?
        var partition: Partition?
        var partitions: [Partition]?
    }
    struct Partition: Decodable {
        var name: String?
        var type: String?
        var filevault2_status: String?
        var filevault2_percent: Int?
    }
    struct Security: Decodable {
        @LooseBool var firewall_enabled: Bool?
    }
    struct Software: Decodable {
        var running_services: [String]?
        var applications: [Application]?
        struct Application: Decodable {
            var name: String?
            var version: String?
        }
    }
    struct ExtensionAttribute: Decodable {
        var name: String
        var value: String?
    }
}
