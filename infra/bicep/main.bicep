// The trading log pipeline in one subscription: a resource group holding the Function App
// (Flex Consumption, Python 3.11) and everything it talks to, all by managed identity.
//   azd up
//   az deployment sub create -l <region> -f infra/bicep/main.bicep -p infra/bicep/main.bicepparam
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Environment name (azd): part of the resource group name and of every resource\'s unique suffix.')
param environmentName string

@minLength(1)
@description('Azure region of every resource (one that offers Flex Consumption).')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Resource group to create; default rg-<environmentName>.')
param resourceGroupName string = ''

@description('Tags added to every resource.')
param tags object = {}

// Function App
@description('Most instances the Function App scales out to (Flex Consumption: 40 to 1000).')
@minValue(40)
@maxValue(1000)
param functionMaximumInstanceCount int = 40

@description('Memory of each Function App instance in MB.')
@allowed([512, 2048, 4096])
param functionInstanceMemoryMB int = 2048

@description('Always-ready instances for the HTTP functions, so ingest never waits for a cold start; 0 scales to zero.')
@minValue(0)
@maxValue(10)
param functionAlwaysReadyHttpInstances int = 0

@description('Client id of an Entra app registration for App Service Authentication (sign-in with the LogReader and LogAdmin app roles); empty for API keys only.')
param authClientId string = ''

@description('Origins allowed to call the API from a browser other than the app itself, comma-separated.')
param corsAllowedOrigins string = ''

// Event Hubs
@description('Partitions of the logs hub (fixed after creation): the most reader instances working at once.')
@minValue(1)
@maxValue(32)
param eventHubPartitions int = 4

@description('Days events stay in the hub, so a reader that was down can catch up (1 to 7 on Standard).')
@minValue(1)
@maxValue(7)
param eventHubRetentionDays int = 1

@description('Throughput units of the Event Hubs namespace (about 1 MB/s or 1,000 events/s of ingress each).')
@minValue(1)
@maxValue(40)
param eventHubThroughputUnits int = 1

@description('Auto-inflate up to this many throughput units; 0 turns auto-inflate off.')
@minValue(0)
@maxValue(40)
param eventHubAutoInflateMaxThroughputUnits int = 0

// PostgreSQL
@description('PostgreSQL compute size; its default max_connections bounds the pools (see postgresPoolMax).')
param postgresSkuName string = 'Standard_B2s'

@description('The server\'s max_connections once changed from the SKU\'s default (a static server parameter: it takes a restart); 0 for the default of postgresSkuName.')
@minValue(0)
@maxValue(5000)
param postgresMaxConnections int = 0

@description('Connections kept out of the app\'s pools: migrations, operators, monitoring tools.')
@minValue(0)
param postgresConnectionHeadroom int = 5

@description('Largest PostgreSQL pool of one Function App instance (POSTGRES_POOL_MAX when the budget allows it).')
@minValue(1)
@maxValue(100)
param postgresPoolCap int = 10

@description('PostgreSQL compute tier matching postgresSkuName.')
@allowed(['Burstable', 'GeneralPurpose', 'MemoryOptimized'])
param postgresSkuTier string = 'Burstable'

@description('PostgreSQL storage in GiB (grows automatically).')
@minValue(32)
@maxValue(16384)
param postgresStorageGB int = 32

@description('Days of PostgreSQL point-in-time backups.')
@minValue(7)
@maxValue(35)
param postgresBackupRetentionDays int = 7

@description('Zone-redundant high availability for PostgreSQL (not on Burstable).')
param postgresHighAvailability bool = false

@description('Allow connections from Azure services (needed by Flex Consumption without a VNet).')
param postgresAllowAzureServices bool = true

@description('Extra client IP ranges allowed to reach PostgreSQL: [{ name, startIpAddress, endIpAddress }].')
param postgresFirewallRules array = []

@description('IP address of the workstation that runs the migrations (azd\'s predeploy hook); empty for none.')
param postgresClientIp string = ''

@description('Object id of a person or group made PostgreSQL Entra administrator (runs migrations from a workstation); empty for none.')
param postgresAdminPrincipalId string = ''

@description('UPN of that person, or the group\'s name.')
param postgresAdminPrincipalName string = ''

@allowed(['User', 'Group', 'ServicePrincipal'])
param postgresAdminPrincipalType string = 'User'

// SignalR
@description('SignalR tier: Free_F1 (20 connections) or a paid one.')
@allowed(['Free_F1', 'Standard_S1', 'Premium_P1'])
param signalRSku string = 'Free_F1'

@description('SignalR units (about 1,000 connections each) on a paid tier.')
@minValue(1)
@maxValue(100)
param signalRCapacity int = 1

// Storage
@description('Replication of the account holding the archive, dead letters and reports.')
@allowed(['Standard_LRS', 'Standard_ZRS', 'Standard_GRS', 'Standard_GZRS', 'Standard_RAGRS', 'Standard_RAGZRS'])
param archiveStorageSku string = 'Standard_LRS'

@description('Archive blobs move to the cool tier after this many days.')
@minValue(1)
param archiveCoolAfterDays int = 30

@description('Archive blobs move to the archive tier after this many days.')
@minValue(1)
param archiveArchiveAfterDays int = 180

@description('Archive blobs are deleted after this many years.')
@minValue(1)
@maxValue(100)
param archiveRetentionYears int = 7

@description('Days each archive blob stays write-once (time-based immutability for an audit trail of trades); 0 for none.')
@minValue(0)
@maxValue(146000)
param archiveImmutabilityDays int = 0

// Retention and monitoring
@description('Days PostgreSQL keeps records of each level, e.g. {"DEBUG": 7, "TRADE_EXECUTED": 365}; {} keeps the built-in defaults.')
param retentionDaysByLevel object = {}

@description('Days Log Analytics keeps the pipeline\'s own telemetry.')
@minValue(30)
@maxValue(730)
param logAnalyticsRetentionDays int = 30

@description('E-mail address that receives the alerts; empty for none.')
param alertEmail string = ''

// Secrets, stored in Key Vault and referenced from app settings
@secure()
@minLength(2)
@description('API_KEYS: JSON list of {"name", "hash" (SHA-256 hex of the key), "role", "service"}.')
param apiKeys string

@secure()
@minLength(32)
@description('CURSOR_SECRET: key that signs search cursors (at least 32 characters, random).')
param cursorSecret string

@secure()
@description('Telegram bot token for alert notifications; empty for none.')
param telegramBotToken string = ''

@description('Telegram chat that receives alert notifications.')
param telegramChatId string = ''

@secure()
@description('Webhook URL that receives alert notifications; empty for none.')
param alertWebhookUrl string = ''

@description('Key Vault purge protection (cannot be turned off once on).')
param keyVaultPurgeProtection bool = true

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var allTags = union(tags, { 'azd-env-name': environmentName })
var prefix = 'logs-${resourceToken}'
var functionAppName = 'func-${prefix}'
var appUrl = 'https://${functionAppName}.azurewebsites.net'
var eventHubName = 'logs'
var postgresDatabaseName = 'logs'
var archiveContainerName = 'archive'
var deadletterContainerName = 'deadletter'
var reportsContainerName = 'reports'

// One consumer group for each Event Hub-triggered function; the app settings below name them.
var eventHubConsumerGroups = [
  'postgres'
  'archive'
  'analyzer'
  'live'
]

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: empty(resourceGroupName) ? 'rg-${environmentName}' : resourceGroupName
  location: location
  tags: allTags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-${prefix}'
    location: location
    tags: allTags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-${prefix}'
    applicationInsightsName: 'appi-${prefix}'
    location: location
    tags: allTags
    retentionDays: logAnalyticsRetentionDays
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    hostAccountName: 'sthost${resourceToken}'
    dataAccountName: 'stdata${resourceToken}'
    location: location
    tags: allTags
    deploymentContainerName: 'app-package'
    archiveContainerName: archiveContainerName
    deadletterContainerName: deadletterContainerName
    reportsContainerName: reportsContainerName
    dataAccountSku: archiveStorageSku
    archiveCoolAfterDays: archiveCoolAfterDays
    archiveArchiveAfterDays: archiveArchiveAfterDays
    archiveDeleteAfterYears: archiveRetentionYears
    archiveImmutabilityDays: archiveImmutabilityDays
    workspaceId: monitoring.outputs.workspaceId
  }
}

module eventHubs 'modules/eventhubs.bicep' = {
  name: 'eventhubs'
  scope: rg
  params: {
    namespaceName: 'evhns-${prefix}'
    location: location
    tags: allTags
    hubName: eventHubName
    partitionCount: eventHubPartitions
    retentionDays: eventHubRetentionDays
    throughputUnits: eventHubThroughputUnits
    autoInflateMaxThroughputUnits: eventHubAutoInflateMaxThroughputUnits
    consumerGroupNames: eventHubConsumerGroups
    workspaceId: monitoring.outputs.workspaceId
  }
}

module postgres 'modules/postgres.bicep' = {
  name: 'postgres'
  scope: rg
  params: {
    serverName: 'psql-${prefix}'
    location: location
    tags: allTags
    databaseName: postgresDatabaseName
    skuName: postgresSkuName
    skuTier: postgresSkuTier
    storageSizeGB: postgresStorageGB
    backupRetentionDays: postgresBackupRetentionDays
    highAvailability: postgresHighAvailability
    allowAzureServices: postgresAllowAzureServices
    firewallRules: concat(postgresFirewallRules, empty(postgresClientIp) ? [] : [
      {
        name: 'deployer'
        startIpAddress: postgresClientIp
        endIpAddress: postgresClientIp
      }
    ])
    appPrincipalId: identity.outputs.principalId
    appPrincipalName: identity.outputs.name
    adminPrincipalId: postgresAdminPrincipalId
    adminPrincipalName: postgresAdminPrincipalName
    adminPrincipalType: postgresAdminPrincipalType
    workspaceId: monitoring.outputs.workspaceId
  }
}

module signalR 'modules/signalr.bicep' = {
  name: 'signalr'
  scope: rg
  params: {
    name: 'sigr-${prefix}'
    location: location
    tags: allTags
    skuName: signalRSku
    capacity: signalRCapacity
    allowedOrigins: [
      appUrl
    ]
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: 'kv-${resourceToken}'
    location: location
    tags: allTags
    purgeProtection: keyVaultPurgeProtection
    apiKeys: apiKeys
    cursorSecret: cursorSecret
    telegramBotToken: telegramBotToken
    alertWebhookUrl: alertWebhookUrl
    workspaceId: monitoring.outputs.workspaceId
  }
}

module roles 'modules/roles.bicep' = {
  name: 'roles'
  scope: rg
  params: {
    principalId: identity.outputs.principalId
    hostStorageAccountName: storage.outputs.hostAccountName
    dataStorageAccountName: storage.outputs.dataAccountName
    eventHubNamespaceName: eventHubs.outputs.namespaceName
    eventHubName: eventHubs.outputs.hubName
    signalRName: signalR.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    logAnalyticsName: monitoring.outputs.workspaceName
  }
}

// PostgreSQL connection budget. Any instance may hold a full pool, so
//   functionMaximumInstanceCount x POSTGRES_POOL_MAX <= max_connections - 15 - headroom
// (Azure keeps 15 of max_connections for itself). The pool is the largest that fits, at most
// postgresPoolCap; the Function App module refuses a pool under 1. Default max_connections by
// SKU as Azure sets them from the memory; set postgresMaxConnections for any other.
var postgresSkuMaxConnections = {
  Standard_B1ms: 50
  Standard_B2s: 429
  Standard_B2ms: 859
  Standard_B4ms: 1718
  Standard_B8ms: 3437
  Standard_D2s_v3: 859
  Standard_D2ds_v4: 859
  Standard_D2ds_v5: 859
  Standard_D4s_v3: 1718
  Standard_D4ds_v4: 1718
  Standard_D4ds_v5: 1718
  Standard_D8s_v3: 3437
  Standard_D8ds_v4: 3437
  Standard_D8ds_v5: 3437
  Standard_E2s_v3: 1718
  Standard_E2ds_v4: 1718
  Standard_E2ds_v5: 1718
  Standard_E4s_v3: 3437
  Standard_E4ds_v4: 3437
  Standard_E4ds_v5: 3437
}
var postgresReservedConnections = 15
var postgresServerConnections = postgresMaxConnections > 0 ? postgresMaxConnections : postgresSkuMaxConnections[postgresSkuName]
var postgresAppConnections = postgresServerConnections - postgresReservedConnections - postgresConnectionHeadroom
var postgresPoolMax = min(postgresPoolCap, postgresAppConnections / functionMaximumInstanceCount)

// Every setting the code reads (shared/settings.py and the functions' bindings), by the same
// name as in local.settings.example.json; connections by identity, secrets by Key Vault
// reference. Timer schedules are NCRONTAB in UTC (Flex Consumption has no time zone setting).
var appSettings = {
  // Host storage and telemetry
  AzureWebJobsStorage__blobServiceUri: storage.outputs.hostBlobEndpoint
  AzureWebJobsStorage__queueServiceUri: storage.outputs.hostQueueEndpoint
  AzureWebJobsStorage__tableServiceUri: storage.outputs.hostTableEndpoint
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.outputs.clientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.connectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.outputs.clientId};Authorization=AAD'
  AZURE_CLIENT_ID: identity.outputs.clientId

  // Ingest and access
  API_KEYS: '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.apiKeysSecretUri})'
  CORS_ALLOWED_ORIGINS: corsAllowedOrigins
  TRUST_CLIENT_PRINCIPAL: empty(authClientId) ? 'false' : 'true'
  PUBLIC_BASE_URL: appUrl

  // Redaction fingerprints and API key refresh (a revoked key stops within KEYS_REFRESH_SECONDS)
  REDACTION_SALT: uniqueString(resourceGroup().id, 'redaction-fingerprints')
  KEYS_REFRESH_SECONDS: '60'
  KEYS_FILE: ''
  KEYS_VAULT_URI: keyVault.outputs.apiKeysSecretUri

  MAX_MESSAGE_BYTES: '32768'
  MAX_EXTRA_DATA_BYTES: '65536'
  MAX_REQUEST_BYTES: '1048576'
  MAX_RECORDS_PER_REQUEST: '1000'
  MAX_FUTURE_SECONDS: '86400'

  // Event Hubs
  EventHubConnection__fullyQualifiedNamespace: eventHubs.outputs.fullyQualifiedNamespace
  EventHubConnection__credential: 'managedidentity'
  EventHubConnection__clientId: identity.outputs.clientId
  EVENTHUB_NAME: eventHubName
  STORE_CONSUMER_GROUP: 'postgres'
  ARCHIVE_CONSUMER_GROUP: 'archive'
  ANALYZE_CONSUMER_GROUP: 'analyzer'
  STREAM_CONSUMER_GROUP: 'live'
  EVENTHUB_SEND_TIMEOUT_SECONDS: '10'
  EVENTHUB_RETRY_TOTAL: '3'
  EVENTHUB_RETRY_BACKOFF_SECONDS: '0.8'
  EVENTHUB_RETRY_BACKOFF_MAX_SECONDS: '4'
  EVENTHUB_PRODUCER_CONNECTIONS: '4'

  // PostgreSQL: an Entra token is fetched for each new pool connection
  POSTGRES_HOST: postgres.outputs.host
  POSTGRES_DATABASE: postgres.outputs.databaseName
  POSTGRES_USER: identity.outputs.name
  POSTGRES_POOL_MIN: '1'
  POSTGRES_POOL_MAX: string(postgresPoolMax)
  POSTGRES_DAYS_AHEAD: '3'
  POSTGRES_COMMAND_TIMEOUT: '30'

  // Read API
  CURSOR_SECRET: '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.cursorSecretUri})'
  SEARCH_TIMEOUT_SECONDS: '10'
  EXPORT_CHUNK_ROWS: '2000'
  EXPORT_MAX_BYTES: '67108864'
  FIELDS_SAMPLE_ROWS: '20000'

  // Blob Storage: archive, dead letters, reports
  ArchiveStorage__blobServiceUri: storage.outputs.dataBlobEndpoint
  ArchiveStorage__credential: 'managedidentity'
  ArchiveStorage__clientId: identity.outputs.clientId
  ARCHIVE_CONTAINER: archiveContainerName
  DEADLETTER_CONTAINER: deadletterContainerName
  REPORTS_CONTAINER: reportsContainerName
  ARCHIVE_COMPRESSION_LEVEL: '6'
  FINAL_ATTEMPT_HOLD_SECONDS: '240'
  BLOB_RETRY_TOTAL: '2'
  BLOB_RETRY_BACKOFF_SECONDS: '0.5'

  // SignalR and the dashboard
  AzureSignalRConnectionString__serviceUri: signalR.outputs.serviceUri
  AzureSignalRConnectionString__credential: 'managedidentity'
  AzureSignalRConnectionString__clientId: identity.outputs.clientId
  SIGNALR_HUB: 'logs'
  SIGNALR_MAX_MESSAGE_BYTES: '921600'
  DASHBOARD_DIST_DIR: ''
  DASHBOARD_CONNECT_SOURCES: ''

  // Analysis, alerts and notifications
  ALERT_RULES_FILE: ''
  ALERT_RULES: ''
  ERROR_RATE_THRESHOLD: '10'
  SLOW_RESPONSE_MS: '5000'
  SILENCE_MINUTES: '10'
  ALERT_QUIET_HOURS: '24'
  ALERT_WEBHOOK_URL: empty(alertWebhookUrl) ? '' : '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.alertWebhookUrlSecretUri})'
  TELEGRAM_BOT_TOKEN: empty(telegramBotToken) ? '' : '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.telegramBotTokenSecretUri})'
  TELEGRAM_CHAT_ID: telegramChatId
  TELEGRAM_API_URL: 'https://api.telegram.org'
  NOTIFY_MIN_INTERVAL_SECONDS: '300'
  NOTIFY_QUEUE_SIZE: '1000'
  NOTIFY_TIMEOUT_SECONDS: '10'
  NOTIFY_MAX_ATTEMPTS: '6'

  // Trade chains
  TRADE_KEY_FIELDS: 'signal_id,request_id'
  TRADE_DECISION_SECONDS: '30'
  TRADE_EXECUTION_SECONDS: '60'

  // Reports and retention (schedules in UTC)
  REPORT_SCHEDULE: '0 5 * * * *'
  REPORT_CATCHUP_HOURS: '48'
  REPORT_NOTIFY: 'false'
  RETENTION_SCHEDULE: '0 30 2 * * *'
  RETENTION_BUDGET_SECONDS: '480'
  RETENTION_DAYS: empty(retentionDaysByLevel) ? '' : string(retentionDaysByLevel)
  RETENTION_BATCH_ROWS: '10000'
  APPINSIGHTS_WORKSPACE_ID: monitoring.outputs.workspaceCustomerId
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  scope: rg
  params: {
    planName: 'plan-${prefix}'
    appName: functionAppName
    location: location
    tags: allTags
    identityId: identity.outputs.id
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    maximumInstanceCount: functionMaximumInstanceCount
    instanceMemoryMB: functionInstanceMemoryMB
    alwaysReadyHttpInstances: functionAlwaysReadyHttpInstances
    appSettings: appSettings
    postgresPoolMax: postgresPoolMax
    authClientId: authClientId
  }
  dependsOn: [
    roles
  ]
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    namePrefix: prefix
    location: location
    tags: allTags
    alertEmail: alertEmail
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    workspaceId: monitoring.outputs.workspaceId
    eventHubNamespaceId: eventHubs.outputs.namespaceId
    postgresServerId: postgres.outputs.id
    dataStorageAccountName: storage.outputs.dataAccountName
    deadletterContainerName: deadletterContainerName
    readerCount: length(eventHubConsumerGroups)
  }
}

module dashboard 'modules/dashboard.bicep' = {
  name: 'dashboard'
  scope: rg
  params: {
    name: 'dash-${prefix}'
    location: location
    tags: allTags
    environmentName: environmentName
    appUrl: appUrl
    functionAppId: functionApp.outputs.id
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    eventHubNamespaceId: eventHubs.outputs.namespaceId
    postgresServerId: postgres.outputs.id
    dataStorageAccountId: storage.outputs.dataAccountId
    keyVaultId: keyVault.outputs.id
  }
}

// What a person needs (azd also writes these to .azure/<env>/.env).
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_CLIENT_ID string = identity.outputs.clientId
output SERVICE_API_NAME string = functionApp.outputs.name
output SERVICE_API_URI string = appUrl
output INGEST_URL string = '${appUrl}/api/logs'
output OTLP_INGEST_URL string = '${appUrl}/api/v1/logs'
output DASHBOARD_URL string = '${appUrl}/api/dashboard'
output HEALTH_URL string = '${appUrl}/api/health'
output PORTAL_DASHBOARD_URL string = dashboard.outputs.portalUrl
output POSTGRES_HOST string = postgres.outputs.host
output POSTGRES_DATABASE string = postgres.outputs.databaseName
output POSTGRES_APP_USER string = identity.outputs.name
output EVENTHUB_NAMESPACE string = eventHubs.outputs.fullyQualifiedNamespace
output EVENTHUB_NAME string = eventHubs.outputs.hubName
output ARCHIVE_STORAGE_ACCOUNT string = storage.outputs.dataAccountName
output KEY_VAULT_NAME string = keyVault.outputs.name
output SIGNALR_SERVICE_URI string = signalR.outputs.serviceUri
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output LOG_ANALYTICS_WORKSPACE_ID string = monitoring.outputs.workspaceCustomerId
