// A shared Azure portal dashboard: the pipeline's links in one place (its web dashboard, its
// health endpoint, the alerts, the telemetry and each resource).

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
        parts: [
          {
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
        ]
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
