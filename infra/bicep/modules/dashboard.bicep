// A shared Azure portal dashboard: the pipeline's links in one place (its web dashboard, its
// health endpoint, the alerts, the telemetry and each resource) beside charts of its health:
// requests and failures, Event Hub messages in and out, PostgreSQL CPU and storage.

param name string
param location string
param tags object = {}

param environmentName string
param appUrl string
param functionAppId string
param applicationInsightsId string
param eventHubNamespaceId string
param postgresServerId string
param dataStorageAccountId string
param keyVaultId string

var portal = 'https://portal.azure.com/#@${tenant().tenantId}/resource'

// Azure Monitor chart aggregation codes of the portal's chart part.
var aggregation = {
  sum: 1
  maximum: 3
  average: 4
  count: 7
}

var charts = [
  {
    title: 'Invocations and failures'
    x: 6
    y: 0
    metrics: [
      {
        resourceMetadata: {
          id: applicationInsightsId
        }
        name: 'requests/count'
        aggregationType: aggregation.count
        namespace: 'microsoft.insights/components'
        metricVisualization: {
          displayName: 'Invocations'
        }
      }
      {
        resourceMetadata: {
          id: applicationInsightsId
        }
        name: 'requests/failed'
        aggregationType: aggregation.count
        namespace: 'microsoft.insights/components'
        metricVisualization: {
          displayName: 'Failed invocations'
        }
      }
    ]
  }
  {
    title: 'Event Hubs: messages in and out (out = in x readers when no reader lags)'
    x: 0
    y: 6
    metrics: [
      {
        resourceMetadata: {
          id: eventHubNamespaceId
        }
        name: 'IncomingMessages'
        aggregationType: aggregation.sum
        namespace: 'microsoft.eventhub/namespaces'
        metricVisualization: {
          displayName: 'Incoming messages'
        }
      }
      {
        resourceMetadata: {
          id: eventHubNamespaceId
        }
        name: 'OutgoingMessages'
        aggregationType: aggregation.sum
        namespace: 'microsoft.eventhub/namespaces'
        metricVisualization: {
          displayName: 'Outgoing messages'
        }
      }
    ]
  }
  {
    title: 'PostgreSQL CPU and storage (%)'
    x: 6
    y: 6
    metrics: [
      {
        resourceMetadata: {
          id: postgresServerId
        }
        name: 'cpu_percent'
        aggregationType: aggregation.average
        namespace: 'microsoft.dbforpostgresql/flexibleservers'
        metricVisualization: {
          displayName: 'CPU percent'
        }
      }
      {
        resourceMetadata: {
          id: postgresServerId
        }
        name: 'storage_percent'
        aggregationType: aggregation.maximum
        namespace: 'microsoft.dbforpostgresql/flexibleservers'
        metricVisualization: {
          displayName: 'Storage percent'
        }
      }
    ]
  }
]

var linksPart = {
  position: {
    x: 0
    y: 0
    colSpan: 6
    rowSpan: 6
  }
  metadata: {
    type: 'Extension/HubsExtension/PartType/MarkdownPart'
    inputs: []
    settings: {
      content: {
        settings: {
          content: join(links, '\n')
          title: 'Trading log pipeline'
          subtitle: environmentName
        }
      }
    }
  }
}

var chartParts = [
  for chart in charts: {
    position: {
      x: chart.x
      y: chart.y
      colSpan: 6
      rowSpan: 6
    }
    metadata: {
      type: 'Extension/HubsExtension/PartType/MonitorChartPart'
      inputs: [
        {
          name: 'options'
          isOptional: true
          value: {
            chart: {
              metrics: chart.metrics
              title: chart.title
              titleKind: 2
              visualization: {
                chartType: 2
              }
              timespan: {
                relative: {
                  duration: 86400000
                }
                showUTCTime: true
                grain: 1
              }
            }
          }
        }
        {
          name: 'sharedTimeRange'
          isOptional: true
        }
      ]
      settings: {}
    }
  }
]
var links = [
  '**Trading log pipeline: ${environmentName}**'
  ''
  '- [Live dashboard](${appUrl}/api/dashboard)'
  '- [Health (JSON)](${appUrl}/api/health)'
  '- [API contract (OpenAPI)](${appUrl}/api/openapi.json)'
  '- [Alerts](https://portal.azure.com/#view/Microsoft_Azure_Monitoring/AzureMonitoringBrowseBlade/~/alertsV2)'
  '- [Failures](${portal}${applicationInsightsId}/failures)'
  '- [Live metrics](${portal}${applicationInsightsId}/quickPulse)'
  '- [Function App](${portal}${functionAppId}/overview)'
  '- [Event Hubs](${portal}${eventHubNamespaceId}/overview)'
  '- [PostgreSQL](${portal}${postgresServerId}/overview)'
  '- [Archive storage](${portal}${dataStorageAccountId}/overview)'
  '- [Key Vault](${portal}${keyVaultId}/overview)'
]

resource dashboard 'Microsoft.Portal/dashboards@2020-09-01-preview' = {
  name: name
  location: location
  tags: union(tags, { 'hidden-title': 'Trading log pipeline (${environmentName})' })
  properties: {
    lenses: [
      {
        order: 0
        parts: concat([
          linksPart
        ], chartParts)
      }
    ]
    metadata: {
      model: {
        timeRange: {
          value: {
            relative: {
              duration: 24
              timeUnit: 1
            }
          }
          type: 'MsPortalFx.Composition.Configuration.ValueTypes.TimeRange'
        }
      }
    }
  }
}

output id string = dashboard.id
output portalUrl string = 'https://portal.azure.com/#@${tenant().tenantId}/dashboard/arm${dashboard.id}'
