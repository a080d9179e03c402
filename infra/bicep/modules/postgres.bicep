// Azure Database for PostgreSQL Flexible Server with Microsoft Entra authentication only.
// The Function App's identity is an Entra administrator (it applies the migrations and creates
// the daily partitions); an optional human administrator can be added for operations.
// Operations on one flexible server must not overlap, hence the explicit dependsOn chain.

param serverName string
param location string
param tags object = {}

param databaseName string

@description('Compute size; Standard_B1ms (Burstable, 1 vCore, 2 GiB) is the smallest.')
param skuName string = 'Standard_B1ms'

@allowed(['Burstable', 'GeneralPurpose', 'MemoryOptimized'])
param skuTier string = 'Burstable'

@allowed(['14', '15', '16'])
param version string = '16'

@description('Storage in GiB; grows automatically when it fills.')
@minValue(32)
@maxValue(16384)
param storageSizeGB int = 32

@minValue(7)
@maxValue(35)
param backupRetentionDays int = 7

@description('Zone-redundant high availability (doubles the compute cost; not on Burstable).')
param highAvailability bool = false

@description('Let Azure services (the Function App on Flex Consumption has no fixed outbound IPs) connect.')
param allowAzureServices bool = true

@description('Extra client IP ranges allowed to connect, e.g. an operator\'s address: [{ name, startIpAddress, endIpAddress }].')
param firewallRules array = []

@description('Object id of the Function App\'s managed identity.')
param appPrincipalId string

@description('Name of the Function App\'s managed identity: its PostgreSQL role name.')
param appPrincipalName string

@description('Optional human or group administrator: object id, name (UPN or group name) and type.')
param adminPrincipalId string = ''
param adminPrincipalName string = ''

@allowed(['User', 'Group', 'ServicePrincipal'])
param adminPrincipalType string = 'User'

param workspaceId string

resource server 'Microsoft.DBforPostgreSQL/flexibleServers@2024-08-01' = {
  name: serverName
  location: location
  tags: tags
  sku: {
    name: skuName
    tier: skuTier
  }
  properties: {
    version: version
    authConfig: {
      activeDirectoryAuth: 'Enabled'
      passwordAuth: 'Disabled'
      tenantId: tenant().tenantId
    }
    storage: {
      storageSizeGB: storageSizeGB
      autoGrow: 'Enabled'
    }
    backup: {
      backupRetentionDays: backupRetentionDays
      geoRedundantBackup: 'Disabled'
    }
    highAvailability: {
      mode: highAvailability ? 'ZoneRedundant' : 'Disabled'
    }
    network: {
      publicNetworkAccess: 'Enabled'
    }
  }
}

resource database 'Microsoft.DBforPostgreSQL/flexibleServers/databases@2024-08-01' = {
  parent: server
  name: databaseName
  properties: {
    charset: 'UTF8'
    collation: 'en_US.utf8'
  }
}

resource allowAzure 'Microsoft.DBforPostgreSQL/flexibleServers/firewallRules@2024-08-01' = if (allowAzureServices) {
  parent: server
  name: 'AllowAllAzureServicesAndResourcesWithinAzureIps'
  properties: {
    startIpAddress: '0.0.0.0'
    endIpAddress: '0.0.0.0'
  }
  dependsOn: [
    database
  ]
}

@batchSize(1)
resource clientRules 'Microsoft.DBforPostgreSQL/flexibleServers/firewallRules@2024-08-01' = [
  for rule in firewallRules: {
    parent: server
    name: rule.name
    properties: {
      startIpAddress: rule.startIpAddress
      endIpAddress: rule.endIpAddress
    }
    dependsOn: [
      allowAzure
    ]
  }
]

resource appAdministrator 'Microsoft.DBforPostgreSQL/flexibleServers/administrators@2024-08-01' = {
  parent: server
  name: appPrincipalId
  properties: {
    principalType: 'ServicePrincipal'
    principalName: appPrincipalName
    tenantId: tenant().tenantId
  }
  dependsOn: [
    database
    allowAzure
    clientRules
  ]
}

resource humanAdministrator 'Microsoft.DBforPostgreSQL/flexibleServers/administrators@2024-08-01' = if (!empty(adminPrincipalId) && !empty(adminPrincipalName)) {
  parent: server
  name: empty(adminPrincipalId) ? 'none' : adminPrincipalId
  properties: {
    principalType: adminPrincipalType
    principalName: adminPrincipalName
    tenantId: tenant().tenantId
  }
  dependsOn: [
    appAdministrator
  ]
}

// The server's own log (errors, slow statements, checkpoints); metric alerts read platform
// metrics directly and need no export.
resource serverLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: server
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        category: 'PostgreSQLLogs'
        enabled: true
      }
    ]
  }
}

output id string = server.id
output name string = server.name
output host string = server.properties.fullyQualifiedDomainName
output databaseName string = database.name
