// Parameters for `azd up` (azd exports its environment's values, so `azd env set NAME value`
// sets them) or for `az deployment sub create ... -p infra/bicep/main.bicepparam` with the same
// variables exported. Every other parameter of main.bicep keeps its default; see docs/deploy.md.
using './main.bicep'

param environmentName = readEnvironmentVariable('AZURE_ENV_NAME', 'logs-dev')
param location = readEnvironmentVariable('AZURE_LOCATION', 'swedencentral')

// Secrets: stored in Key Vault, referenced from the app settings.
param apiKeys = readEnvironmentVariable('API_KEYS', '[]')
param cursorSecret = readEnvironmentVariable('CURSOR_SECRET', '')
param telegramBotToken = readEnvironmentVariable('TELEGRAM_BOT_TOKEN', '')
param telegramChatId = readEnvironmentVariable('TELEGRAM_CHAT_ID', '')
param alertWebhookUrl = readEnvironmentVariable('ALERT_WEBHOOK_URL', '')

// Operators
param alertEmail = readEnvironmentVariable('ALERT_EMAIL', '')
param authClientId = readEnvironmentVariable('AUTH_CLIENT_ID', '')
param postgresAdminPrincipalId = readEnvironmentVariable('AZURE_PRINCIPAL_ID', '')
param postgresAdminPrincipalName = readEnvironmentVariable('AZURE_PRINCIPAL_NAME', '')
param postgresAdminPrincipalType = readEnvironmentVariable('AZURE_PRINCIPAL_TYPE', 'User')
param postgresClientIp = readEnvironmentVariable('POSTGRES_CLIENT_IP', '')

// Sizes (the smallest by default)
param functionAlwaysReadyHttpInstances = int(readEnvironmentVariable('FUNCTION_ALWAYS_READY_HTTP', '0'))
param eventHubPartitions = int(readEnvironmentVariable('EVENTHUB_PARTITIONS', '4'))
param eventHubRetentionDays = int(readEnvironmentVariable('EVENTHUB_RETENTION_DAYS', '1'))
param eventHubThroughputUnits = int(readEnvironmentVariable('EVENTHUB_THROUGHPUT_UNITS', '1'))
param eventHubAutoInflateMaxThroughputUnits = int(readEnvironmentVariable('EVENTHUB_AUTO_INFLATE_MAX', '0'))
param postgresSkuName = readEnvironmentVariable('POSTGRES_SKU', 'Standard_B2s')
param postgresSkuTier = readEnvironmentVariable('POSTGRES_TIER', 'Burstable')
param signalRSku = readEnvironmentVariable('SIGNALR_SKU', 'Free_F1')
param archiveRetentionYears = int(readEnvironmentVariable('ARCHIVE_RETENTION_YEARS', '7'))
param archiveImmutabilityDays = int(readEnvironmentVariable('ARCHIVE_IMMUTABILITY_DAYS', '0'))
param logAnalyticsRetentionDays = int(readEnvironmentVariable('LOG_ANALYTICS_RETENTION_DAYS', '30'))
