/// Microsoft Graph v1.0 pages: `value` plus `@odata.nextLink` until the last page.
struct GraphPage<Item: Decodable>: Decodable {
    var value: [Item]
    var nextLink: String?
    enum CodingKeys: String, CodingKey {
        case value
        case nextLink = "@odata.nextLink"
    }
}

/// `deviceManagement/managedDevices`, the `$select`ed properties only.
struct ManagedDevice: Decodable {
    var id: String
    var deviceName: String?
    var operatingSystem: String?
    var osVersion: String?
    var model: String?
    var complianceState: String?
    @LooseBool var isEncrypted: Bool?
    var jailBroken: String?  // "True" / "False" / "Unknown": a string, not a bool
    var userPrincipalName: String?
    var emailAddress: String?
    var serialNumber: String?
    var wiFiMacAddress: String?
    var ethernetMacAddress: String?  // null in lists (a "non-default" property)
    var imei: String?
    var meid: String?
    var udid: String?
    var azureADDeviceId: String?
    var lastSyncDateTime: String?
    var managedDeviceOwnerType: String?
    var partnerReportedThreatState: String?

    static let select =
        "id,deviceName,operatingSystem,osVersion,model,complianceState,isEncrypted,jailBroken,userPrincipalName,emailAddress,"
        + "serialNumber,wiFiMacAddress,ethernetMacAddress,imei,meid,udid,azureADDeviceId,lastSyncDateTime,managedDeviceOwnerType,partnerReportedThreatState"
}

/// `users` with the manager expanded.
struct EntraUser: Decodable {
    var displayName: String?
    var mail: String?
    var userPrincipalName: String?
    @LooseBool var accountEnabled: Bool?
    var department: String?
    var jobTitle: String?
    var officeLocation: String?
    var companyName: String?
    var employeeOrgData: OrgData?
    var manager: Manager?

    struct OrgData: Decodable {
        var costCenter: String?
        var division: String?
    }
    struct Manager: Decodable {
        var mail: String?
        var userPrincipalName: String?
    }

    /// What every directory pull needs; the organization field adds its own property (`select(organizationField:)`).
    static let baseSelect = "displayName,mail,userPrincipalName,accountEnabled,jobTitle,officeLocation"

    /// Only the properties the configured `organization_field` needs: smaller pages, and no `employeeOrgData` (which
    /// needs more consent in some tenants) unless cost center or division is asked for.
    static func select(organizationField field: String) -> String {
        switch field {
        case "cost_center", "division": return baseSelect + ",employeeOrgData"
        case "company_name": return baseSelect + ",companyName"
        case "office_location": return baseSelect
        default: return baseSelect + ",department"
        }
    }
}
