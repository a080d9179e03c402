// Two storage accounts, both keyless (shared keys off, Entra only):
//  - host: AzureWebJobsStorage (leases, checkpoints, timers) and the deployment package container;
//  - data: the archive, dead-letter and report containers, with lifecycle tiering of the archive,
//    an optional version-level immutability policy for an audit trail, and blob write logs sent
//    to Log Analytics so that a dead letter raises an alert.
// Version-level (not container-level) immutability keeps the archive's idempotent rewrites
// working: a retry that rewrites a blob adds a version, and every version stays write-once.

param hostAccountName string
param dataAccountName string
param location string
param tags object = {}

@description('Container in the host account that holds the deployment package.')
param deploymentContainerName string

param archiveContainerName string
param deadletterContainerName string
param reportsContainerName string

@description('Replication of the data account (the archive is the long-term record).')
@allowed(['Standard_LRS', 'Standard_ZRS', 'Standard_GRS', 'Standard_GZRS', 'Standard_RAGRS', 'Standard_RAGZRS'])
param dataAccountSku string = 'Standard_LRS'

@description('Archive blobs move to the cool tier after this many days.')
param archiveCoolAfterDays int = 30

@description('Archive blobs move to the archive tier after this many days.')
param archiveArchiveAfterDays int = 180

@description('Archive blobs are deleted after this many years.')
@minValue(1)
@maxValue(100)
param archiveDeleteAfterYears int = 7

@description('Days each archive blob version is write-once (time-based, version-level immutability); 0 for no policy. Choose before the first deployment: it cannot be turned off on an existing container.')
@minValue(0)
@maxValue(146000)
param archiveImmutabilityDays int = 0

@description('Days deleted blobs and containers stay recoverable.')
@minValue(1)
@maxValue(365)
param softDeleteDays int = 7

@description('Log Analytics workspace receiving the data account\'s blob write logs.')
param workspaceId string

var accountProperties = {
  accessTier: 'Hot'
  allowBlobPublicAccess: false
  allowSharedKeyAccess: false
  allowCrossTenantReplication: false
  defaultToOAuthAuthentication: true
  minimumTlsVersion: 'TLS1_2'
  supportsHttpsTrafficOnly: true
  publicNetworkAccess: 'Enabled'
  networkAcls: {
    bypass: 'AzureServices'
    defaultAction: 'Allow'
  }
  encryption: {
    keySource: 'Microsoft.Storage'
    requireInfrastructureEncryption: true
    services: {
      blob: {
        enabled: true
        keyType: 'Account'
      }
      file: {
        enabled: true
        keyType: 'Account'
      }
    }
  }
}

// A retried archive write must never outlive the deletion rule, nor may deletion precede the
// immutability period.
var archiveDeleteAfterDays = max(archiveDeleteAfterYears * 365, archiveImmutabilityDays + 1)
var immutable = archiveImmutabilityDays > 0

// The archive access tier exists only for locally and geo-redundant (not zone-redundant) accounts.
var archiveTierSupported = contains(['Standard_LRS', 'Standard_GRS', 'Standard_RAGRS'], dataAccountSku)
var archiveTierAction = archiveTierSupported ? { tierToArchive: { daysAfterModificationGreaterThan: archiveArchiveAfterDays } } : {}

resource hostAccount 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: hostAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  /*
    checkov:skip=CKV_AZURE_43:The name is 'sthost' and 13 lowercase alphanumerics of uniqueString: 19 characters.
    checkov:skip=CKV_AZURE_206:The host account holds only leases, checkpoints and the deployment package, all recreated by a redeploy; LRS is enough.
    checkov:skip=CKV_AZURE_35:Flex Consumption without VNet integration reaches storage over its public endpoint; access is Entra-only (shared keys disabled).
    checkov:skip=CKV_AZURE_59:Same reason as CKV_AZURE_35: no VNet in the smallest deployment; shared keys are disabled and public blob access is off.
  */
  properties: accountProperties
}

resource hostBlobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: hostAccount
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: softDeleteDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: softDeleteDays
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: hostBlobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource dataAccount 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: dataAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: dataAccountSku
  }
  /*
    checkov:skip=CKV_AZURE_43:The name is 'stdata' and 13 lowercase alphanumerics of uniqueString: 19 characters.
    checkov:skip=CKV_AZURE_206:Replication is the dataAccountSku parameter; LRS is the default only to keep the smallest deployment cheapest, production should pick ZRS or GZRS.
    checkov:skip=CKV_AZURE_35:Flex Consumption without VNet integration reaches storage over its public endpoint; access is Entra-only (shared keys disabled).
    checkov:skip=CKV_AZURE_59:Same reason as CKV_AZURE_35: no VNet in the smallest deployment; shared keys are disabled and public blob access is off.
  */
  properties: accountProperties
}

resource dataBlobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: dataAccount
  name: 'default'
  properties: {
    isVersioningEnabled: immutable
    deleteRetentionPolicy: {
      enabled: true
      days: softDeleteDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: softDeleteDays
    }
  }
}

resource archiveContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: dataBlobService
  name: archiveContainerName
  properties: {
    publicAccess: 'None'
    immutableStorageWithVersioning: {
      enabled: immutable
    }
  }
}

// The container's default policy, applied to every new blob version.
resource archiveImmutability 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2023-05-01' = if (immutable) {
  parent: archiveContainer
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: archiveImmutabilityDays
    allowProtectedAppendWrites: false
  }
}

resource deadletterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: dataBlobService
  name: deadletterContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource reportsContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: dataBlobService
  name: reportsContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: dataAccount
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          enabled: true
          name: 'archive-tiering-and-expiry'
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                '${archiveContainerName}/'
              ]
            }
            actions: {
              baseBlob: union(archiveTierAction, {
                tierToCool: {
                  daysAfterModificationGreaterThan: archiveCoolAfterDays
                }
                delete: {
                  daysAfterModificationGreaterThan: archiveDeleteAfterDays
                }
              })
              version: {
                tierToCool: {
                  daysAfterCreationGreaterThan: archiveCoolAfterDays
                }
                delete: {
                  daysAfterCreationGreaterThan: archiveDeleteAfterDays
                }
              }
            }
          }
        }
        {
          enabled: true
          name: 'expire-replaced-versions'
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                '${deadletterContainerName}/'
                '${reportsContainerName}/'
              ]
            }
            actions: {
              version: {
                delete: {
                  daysAfterCreationGreaterThan: softDeleteDays
                }
              }
            }
          }
        }
      ]
    }
  }
}

resource dataBlobLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'blob-writes-to-log-analytics'
  scope: dataBlobService
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        category: 'StorageWrite'
        enabled: true
      }
    ]
  }
}

output hostAccountName string = hostAccount.name
output hostAccountId string = hostAccount.id
output hostBlobEndpoint string = hostAccount.properties.primaryEndpoints.blob
output hostQueueEndpoint string = hostAccount.properties.primaryEndpoints.queue
output hostTableEndpoint string = hostAccount.properties.primaryEndpoints.table
output deploymentContainerUrl string = '${hostAccount.properties.primaryEndpoints.blob}${deploymentContainer.name}'
output dataAccountName string = dataAccount.name
output dataAccountId string = dataAccount.id
output dataBlobEndpoint string = dataAccount.properties.primaryEndpoints.blob
