// Event Hubs: a Standard namespace (Entra only), the logs hub, and one consumer group for
// each reader so that a slow or failing reader never holds back another. Namespace metrics go
// to Log Analytics for the consumer-lag alert.

param namespaceName string
param location string
param tags object = {}

@description('Name of the hub the ingest function publishes to.')
param hubName string

@description('Partitions of the hub (fixed after creation on Standard): one reader instance each at most.')
@minValue(1)
@maxValue(32)
param partitionCount int = 4

@description('Days events stay readable in the hub (Standard: 1 to 7).')
@minValue(1)
@maxValue(7)
param retentionDays int = 1

@description('Throughput units (about 1 MB/s or 1,000 events/s of ingress each).')
@minValue(1)
@maxValue(40)
param throughputUnits int = 1

@description('Upper bound of auto-inflate; 0 turns auto-inflate off.')
@minValue(0)
@maxValue(40)
param autoInflateMaxThroughputUnits int = 0

@description('Consumer groups, one for each Event Hub-triggered function.')
param consumerGroupNames array

param workspaceId string

resource namespace 'Microsoft.EventHub/namespaces@2024-01-01' = {
  name: namespaceName
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
    capacity: throughputUnits
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
    isAutoInflateEnabled: autoInflateMaxThroughputUnits > 0
    maximumThroughputUnits: autoInflateMaxThroughputUnits > 0 ? max(autoInflateMaxThroughputUnits, throughputUnits) : 0
  }
}

resource hub 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' = {
  parent: namespace
  name: hubName
  properties: {
    partitionCount: partitionCount
    messageRetentionInDays: retentionDays
  }
}

resource consumerGroups 'Microsoft.EventHub/namespaces/eventhubs/consumergroups@2024-01-01' = [
  for group in consumerGroupNames: {
    parent: hub
    name: group
    properties: {
      userMetadata: 'reader of ${hubName}'
    }
  }
]

resource namespaceMetrics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'metrics-to-log-analytics'
  scope: namespace
  properties: {
    workspaceId: workspaceId
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

output namespaceId string = namespace.id
output namespaceName string = namespace.name
output fullyQualifiedNamespace string = '${namespace.name}.servicebus.windows.net'
output hubId string = hub.id
output hubName string = hub.name
