"""Resource types and API versions the Bicep may use, each with where it was checked: the ARM
template reference (https://learn.microsoft.com/azure/templates/{provider}/{version}/{type})
and, where noted, a published template that deploys it."""

TEMPLATE_REFERENCE = "learn.microsoft.com/azure/templates"
FLEX_SAMPLES = (
    "Azure-Samples/azure-functions-flex-consumption-samples IaC/bicep/core/host/function.bicep"
)

KNOWN_API_VERSIONS: dict[tuple[str, str], str] = {
    ("Microsoft.Resources/resourceGroups", "2024-03-01"): (
        f"{TEMPLATE_REFERENCE}/microsoft.resources/2024-03-01/resourcegroups"
    ),
    ("Microsoft.ManagedIdentity/userAssignedIdentities", "2023-01-31"): (
        f"{TEMPLATE_REFERENCE}/microsoft.managedidentity/2023-01-31/userassignedidentities"
    ),
    ("Microsoft.OperationalInsights/workspaces", "2023-09-01"): (
        f"{TEMPLATE_REFERENCE}/microsoft.operationalinsights/2023-09-01/workspaces"
    ),
    ("Microsoft.Insights/components", "2020-02-02"): (
        f"{TEMPLATE_REFERENCE}/microsoft.insights/2020-02-02/components; {FLEX_SAMPLES}"
    ),
    ("Microsoft.Insights/actionGroups", "2023-01-01"): (
        f"{TEMPLATE_REFERENCE}/microsoft.insights/2023-01-01/actiongroups"
    ),
    ("Microsoft.Insights/metricAlerts", "2018-03-01"): (
        f"{TEMPLATE_REFERENCE}/microsoft.insights/2018-03-01/metricalerts"
    ),
    ("Microsoft.Insights/scheduledQueryRules", "2022-06-15"): (
        f"{TEMPLATE_REFERENCE}/microsoft.insights/2022-06-15/scheduledqueryrules"
    ),
    ("Microsoft.Insights/diagnosticSettings", "2021-05-01-preview"): (
        f"{TEMPLATE_REFERENCE}/microsoft.insights/2021-05-01-preview/diagnosticsettings"
    ),
    ("Microsoft.Storage/storageAccounts", "2023-05-01"): (
        f"{TEMPLATE_REFERENCE}/microsoft.storage/2023-05-01/storageaccounts"
    ),
    ("Microsoft.Storage/storageAccounts/blobServices", "2023-05-01"): (
        f"{TEMPLATE_REFERENCE}/microsoft.storage/2023-05-01/storageaccounts/blobservices"
    ),
    ("Microsoft.Storage/storageAccounts/blobServices/containers", "2023-05-01"): (
        f"{TEMPLATE_REFERENCE}/microsoft.storage/2023-05-01/storageaccounts/blobservices/containers"
    ),
    (
        "Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies",
        "2023-05-01",
    ): (
        f"{TEMPLATE_REFERENCE}/microsoft.storage/2023-05-01/storageaccounts/blobservices/"
        "containers/immutabilitypolicies"
    ),
    ("Microsoft.Storage/storageAccounts/managementPolicies", "2023-05-01"): (
        f"{TEMPLATE_REFERENCE}/microsoft.storage/2023-05-01/storageaccounts/managementpolicies"
    ),
    ("Microsoft.EventHub/namespaces", "2024-01-01"): (
        f"{TEMPLATE_REFERENCE}/microsoft.eventhub/2024-01-01/namespaces"
    ),
    ("Microsoft.EventHub/namespaces/eventhubs", "2024-01-01"): (
        f"{TEMPLATE_REFERENCE}/microsoft.eventhub/2024-01-01/namespaces/eventhubs"
    ),
    ("Microsoft.EventHub/namespaces/eventhubs/consumergroups", "2024-01-01"): (
        f"{TEMPLATE_REFERENCE}/microsoft.eventhub/2024-01-01/namespaces/eventhubs/consumergroups"
    ),
    ("Microsoft.DBforPostgreSQL/flexibleServers", "2024-08-01"): (
        f"{TEMPLATE_REFERENCE}/microsoft.dbforpostgresql/2024-08-01/flexibleservers"
    ),
    ("Microsoft.DBforPostgreSQL/flexibleServers/databases", "2024-08-01"): (
        f"{TEMPLATE_REFERENCE}/microsoft.dbforpostgresql/2024-08-01/flexibleservers/databases"
    ),
    ("Microsoft.DBforPostgreSQL/flexibleServers/firewallRules", "2024-08-01"): (
        f"{TEMPLATE_REFERENCE}/microsoft.dbforpostgresql/2024-08-01/flexibleservers/firewallrules"
    ),
    ("Microsoft.DBforPostgreSQL/flexibleServers/administrators", "2024-08-01"): (
        f"{TEMPLATE_REFERENCE}/microsoft.dbforpostgresql/2024-08-01/flexibleservers/administrators"
    ),
    ("Microsoft.SignalRService/signalR", "2024-03-01"): (
        f"{TEMPLATE_REFERENCE}/microsoft.signalrservice/2024-03-01/signalr; the same version is "
        "what .NET Aspire's Azure SignalR integration emits"
    ),
    ("Microsoft.KeyVault/vaults", "2023-07-01"): (
        f"{TEMPLATE_REFERENCE}/microsoft.keyvault/2023-07-01/vaults"
    ),
    ("Microsoft.KeyVault/vaults/secrets", "2023-07-01"): (
        f"{TEMPLATE_REFERENCE}/microsoft.keyvault/2023-07-01/vaults/secrets"
    ),
    ("Microsoft.Authorization/roleAssignments", "2022-04-01"): (
        f"{TEMPLATE_REFERENCE}/microsoft.authorization/2022-04-01/roleassignments"
    ),
    ("Microsoft.Web/serverfarms", "2024-04-01"): (
        f"{TEMPLATE_REFERENCE}/microsoft.web/2024-04-01/serverfarms; {FLEX_SAMPLES} (FC1)"
    ),
    ("Microsoft.Web/sites", "2024-04-01"): (
        f"{TEMPLATE_REFERENCE}/microsoft.web/2024-04-01/sites; {FLEX_SAMPLES} (functionAppConfig)"
    ),
    ("Microsoft.Web/sites/config", "2024-04-01"): (
        f"{TEMPLATE_REFERENCE}/microsoft.web/2024-04-01/sites/config-authsettingsv2"
    ),
    ("Microsoft.Web/sites/basicPublishingCredentialsPolicies", "2024-04-01"): (
        f"{TEMPLATE_REFERENCE}/microsoft.web/2024-04-01/sites/basicpublishingcredentialspolicies"
    ),
    ("Microsoft.Portal/dashboards", "2020-09-01-preview"): (
        f"{TEMPLATE_REFERENCE}/microsoft.portal/2020-09-01-preview/dashboards"
    ),
}

# Built-in role definition ids, from
# https://learn.microsoft.com/azure/role-based-access-control/built-in-roles
BUILT_IN_ROLES: dict[str, str] = {
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
    "2b629674-e913-4c01-ae53-ef4638d8f975": "Azure Event Hubs Data Sender",
    "a638d3c7-ab3a-418d-83e6-5f17a39d4fde": "Azure Event Hubs Data Receiver",
    "7e4f1700-ea5a-4f59-8f37-079cfe29dce3": "SignalR Service Owner",
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
    "73c42c96-874c-492b-b04d-ab87d138a893": "Log Analytics Reader",
}
