// The Function App on the Flex Consumption plan: Python 3.11, the user-assigned identity for
// the deployment package, every connection and Key Vault references; basic publishing
// credentials off; App Service Authentication (Entra sign-in for the dashboard) when a client
// id is given.

param planName string
param appName string
param location string
param tags object = {}

param identityId string

@description('URL of the blob container that holds the deployment package.')
param deploymentContainerUrl string

@allowed(['3.11'])
param pythonVersion string = '3.11'

@description('Most instances the app scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory of each instance in MB.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Instances kept warm for the HTTP functions (ingest answers without a cold start); 0 scales to zero.')
@minValue(0)
@maxValue(10)
param alwaysReadyHttpInstances int = 0

@description('Every app setting, identity-based connections and Key Vault references included.')
param appSettings object

@description('POSTGRES_POOL_MAX from the connection budget (maximumInstanceCount x pool <= max_connections - 15 - headroom); under 1 the server cannot give every instance a connection and the deployment stops here: choose a larger PostgreSQL SKU, fewer instances or less headroom.')
@minValue(1)
param postgresPoolMax int

@description('Client id of an Entra app registration for App Service Authentication; empty for none.')
param authClientId string = ''

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  /*
    checkov:skip=CKV_AZURE_225:Flex Consumption has no fixed worker count; zone redundancy is optional and costs always-ready instances.
  */
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: appName
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  /*
    checkov:skip=CKV_AZURE_16:Callers are bots with API keys and people signing in through App Service Authentication (authsettingsV2 below, when authClientId is set), not Entra app registrations on every route.
    checkov:skip=CKV_AZURE_17:Bots authenticate with API keys; client certificates would lock out the OpenTelemetry collectors that ship logs.
    checkov:skip=CKV_AZURE_222:Bots post logs from anywhere and people open the dashboard; every route is authenticated in code.
    checkov:skip=CKV_AZURE_212:Flex Consumption scales from zero by events; there is no minimum worker count to set.
    checkov:skip=CKV_AZURE_213:Flex Consumption does not offer the App Service health check; GET /api/health is probed by the portal dashboard link and the failure alerts.
  */
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    publicNetworkAccess: 'Enabled'
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      remoteDebuggingEnabled: false
      appSettings: [
        for setting in items(union(appSettings, { POSTGRES_POOL_MAX: string(postgresPoolMax) })): {
          name: setting.key
          value: setting.value
        }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        alwaysReady: alwaysReadyHttpInstances > 0 ? [
          {
            name: 'http'
            instanceCount: alwaysReadyHttpInstances
          }
        ] : []
      }
      runtime: {
        name: 'python'
        version: pythonVersion
      }
    }
  }
}

resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

// Signed-in users reach the dashboard and read routes; the X-MS-CLIENT-PRINCIPAL header is
// then set by the platform (never by the caller), which is what makes TRUST_CLIENT_PRINCIPAL
// safe. Anonymous requests still pass through, so bots keep using their API keys.
resource authentication 'Microsoft.Web/sites/config@2024-04-01' = if (!empty(authClientId)) {
  parent: site
  name: 'authsettingsV2'
  /*
    The checks below read the 'web' config (logging, .NET version, storage mounts); this is the
    'authsettingsV2' config, which has none of those properties.
    checkov:skip=CKV_AZURE_13:This resource is App Service Authentication itself.
    checkov:skip=CKV_AZURE_63:HTTP logs of the 'web' config; telemetry goes to Application Insights.
    checkov:skip=CKV_AZURE_65:Detailed error pages of the 'web' config; errors are JSON without stack traces by design.
    checkov:skip=CKV_AZURE_66:Failed request tracing of the 'web' config; failures are traced in Application Insights.
    checkov:skip=CKV_AZURE_80:.NET version of the 'web' config; the app runs Python 3.11.
    checkov:skip=CKV_AZURE_88:Azure Files mounts of the 'web' config; Flex Consumption deploys from a blob container.
    checkov:skip=CKV_AZURE_222:Public network access belongs to the site (see its reason), not to this config.
  */
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: false
      unauthenticatedClientAction: 'AllowAnonymous'
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: authClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            'api://${authClientId}'
            authClientId
          ]
        }
      }
    }
    login: {
      tokenStore: {
        enabled: false
      }
    }
  }
}

output id string = site.id
output name string = site.name
output defaultHostName string = site.properties.defaultHostName
