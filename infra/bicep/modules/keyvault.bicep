// Key Vault (RBAC mode) holding what the app must not keep in plain app settings: the API key
// hashes, the cursor signing key and the notification secrets. App settings refer to them as
// @Microsoft.KeyVault(SecretUri=...), resolved with the app's user-assigned identity.

param name string
param location string
param tags object = {}

@description('Forbid purging deleted secrets during their 90 days of soft delete (cannot be turned off once on).')
param purgeProtection bool = true

@secure()
@description('API_KEYS: JSON list of {"name","hash","role","service"} with SHA-256 hashes of the keys.')
param apiKeys string

@secure()
@description('CURSOR_SECRET: the key that signs search cursors.')
param cursorSecret string

@secure()
@description('TELEGRAM_BOT_TOKEN for alert notifications; empty for none.')
param telegramBotToken string = ''

@secure()
@description('ALERT_WEBHOOK_URL for alert notifications (such URLs embed a token); empty for none.')
param alertWebhookUrl string = ''

param workspaceId string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  /*
    checkov:skip=CKV_AZURE_109:Flex Consumption without VNet integration resolves Key Vault references over the public endpoint; access is RBAC-only.
    checkov:skip=CKV_AZURE_189:Same reason as CKV_AZURE_109: no VNet in the smallest deployment.
    checkov:skip=CKV_AZURE_110:Purge protection is the purgeProtection parameter, on by default; off only for throwaway environments.
    checkov:skip=CKV_AZURE_42:Soft delete is always on; purge protection is the purgeProtection parameter, on by default.
  */
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: purgeProtection ? true : null
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource apiKeysSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'api-keys'
  /*
    checkov:skip=CKV_AZURE_41:Key hashes rotate by replacing the secret; a fixed expiry would silently lock every bot out of ingest.
  */
  properties: {
    value: apiKeys
    contentType: 'application/json'
  }
}

resource cursorSecretValue 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'cursor-secret'
  /*
    checkov:skip=CKV_AZURE_41:Rotating the cursor key invalidates open cursors only; it is rotated by replacing the secret, not on a fixed date.
  */
  properties: {
    value: cursorSecret
    contentType: 'text/plain'
  }
}

resource telegramSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(telegramBotToken)) {
  parent: vault
  name: 'telegram-bot-token'
  /*
    checkov:skip=CKV_AZURE_114:contentType is set below; checkov does not read the properties of a conditional resource.
    checkov:skip=CKV_AZURE_41:The bot token is revoked and replaced through BotFather, not on a fixed date.
  */
  properties: {
    value: telegramBotToken
    contentType: 'text/plain'
  }
}

resource webhookSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(alertWebhookUrl)) {
  parent: vault
  name: 'alert-webhook-url'
  /*
    checkov:skip=CKV_AZURE_114:contentType is set below; checkov does not read the properties of a conditional resource.
    checkov:skip=CKV_AZURE_41:The webhook URL is replaced when its receiver rotates it, not on a fixed date.
  */
  properties: {
    value: alertWebhookUrl
    contentType: 'text/uri-list'
  }
}

resource vaultAudit 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit-to-log-analytics'
  scope: vault
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        categoryGroup: 'audit'
        enabled: true
      }
    ]
  }
}

output id string = vault.id
output name string = vault.name
output apiKeysSecretUri string = apiKeysSecret.properties.secretUri
output cursorSecretUri string = cursorSecretValue.properties.secretUri
output telegramBotTokenSecretUri string = empty(telegramBotToken) ? '' : telegramSecret.properties.secretUri
output alertWebhookUrlSecretUri string = empty(alertWebhookUrl) ? '' : webhookSecret.properties.secretUri
