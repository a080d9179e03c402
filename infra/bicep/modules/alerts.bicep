// What pages the operator: an action group (e-mail) and the alerts on the pipeline's health:
// function failures, Event Hub consumer lag (outgoing against incoming messages), PostgreSQL
// CPU and storage, and dead letters appearing in Blob Storage.

param namePrefix string
param location string
param tags object = {}

@description('Address that receives alert e-mails; empty for an action group without receivers.')
param alertEmail string = ''

param applicationInsightsId string
param workspaceId string
param eventHubNamespaceId string
param postgresServerId string
param dataStorageAccountName string
param deadletterContainerName string

@description('Consumer groups reading the hub: each reads every event once.')
@minValue(1)
param readerCount int

@description('Alert when readers take out less than this fraction of what they should (incoming x readers) over 30 minutes.')
param consumerLagRatio string = '0.8'

@description('Alert when more than this many invocations fail (server-side) in 15 minutes.')
@minValue(0)
param functionFailureThreshold int = 0

@minValue(1)
@maxValue(100)
param postgresCpuPercent int = 80

@minValue(1)
@maxValue(100)
param postgresStoragePercent int = 80

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: '${namePrefix}-operators'
  location: 'Global'
  tags: tags
  properties: {
    groupShortName: take('logpipeline', 12)
    enabled: true
    emailReceivers: empty(alertEmail) ? [] : [
      {
        name: 'operator'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

// Server-side failures only: a 4xx is a client's mistake and is answered, not an outage.
resource functionFailures 'Microsoft.Insights/scheduledQueryRules@2022-06-15' = {
  name: '${namePrefix}-function-failures'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Function failures'
    description: 'Function invocations failed (Event Hub readers, timers, or HTTP 5xx).'
    severity: 1
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: 'requests | where success == false and not(resultCode startswith "4") | summarize failures = count() by operation_Name'
          timeAggregation: 'Total'
          metricMeasureColumn: 'failures'
          dimensions: [
            {
              name: 'operation_Name'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: functionFailureThreshold
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

// Every consumer group reads every event, so a healthy pipeline takes out about
// readers x incoming messages; less than that for half an hour means a reader is behind.
resource consumerLag 'Microsoft.Insights/scheduledQueryRules@2022-06-15' = {
  name: '${namePrefix}-eventhub-consumer-lag'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Event Hub consumer lag'
    description: 'Readers took out fewer messages than came in (times the number of consumer groups).'
    severity: 2
    enabled: true
    scopes: [
      workspaceId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT30M'
    criteria: {
      allOf: [
        {
          query: 'AzureMetrics | where ResourceId =~ "${eventHubNamespaceId}" and MetricName in ("IncomingMessages", "OutgoingMessages") | summarize incoming = sumif(Total, MetricName == "IncomingMessages"), outgoing = sumif(Total, MetricName == "OutgoingMessages") | where incoming > 0 and outgoing < incoming * ${readerCount} * ${consumerLagRatio}'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

// A reader that cannot keep up because the namespace refuses work needs more throughput units.
resource eventHubThrottling 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: '${namePrefix}-eventhub-throttled'
  location: 'global'
  tags: tags
  properties: {
    description: 'Event Hubs throttled requests: raise throughput units or auto-inflate.'
    severity: 2
    enabled: true
    scopes: [
      eventHubNamespaceId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'throttled'
          metricNamespace: 'Microsoft.EventHub/namespaces'
          metricName: 'ThrottledRequests'
          operator: 'GreaterThan'
          threshold: 0
          timeAggregation: 'Total'
        }
      ]
    }
    autoMitigate: true
    actions: [
      {
        actionGroupId: actionGroup.id
      }
    ]
  }
}

resource postgresCpu 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: '${namePrefix}-postgres-cpu'
  location: 'global'
  tags: tags
  properties: {
    description: 'PostgreSQL CPU above ${postgresCpuPercent}% for 15 minutes.'
    severity: 2
    enabled: true
    scopes: [
      postgresServerId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'cpu'
          metricNamespace: 'Microsoft.DBforPostgreSQL/flexibleServers'
          metricName: 'cpu_percent'
          operator: 'GreaterThan'
          threshold: postgresCpuPercent
          timeAggregation: 'Average'
        }
      ]
    }
    autoMitigate: true
    actions: [
      {
        actionGroupId: actionGroup.id
      }
    ]
  }
}

resource postgresStorage 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: '${namePrefix}-postgres-storage'
  location: 'global'
  tags: tags
  properties: {
    description: 'PostgreSQL storage above ${postgresStoragePercent}% (it grows automatically; check retention).'
    severity: 2
    enabled: true
    scopes: [
      postgresServerId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT30M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'storage'
          metricNamespace: 'Microsoft.DBforPostgreSQL/flexibleServers'
          metricName: 'storage_percent'
          operator: 'GreaterThan'
          threshold: postgresStoragePercent
          timeAggregation: 'Maximum'
        }
      ]
    }
    autoMitigate: true
    actions: [
      {
        actionGroupId: actionGroup.id
      }
    ]
  }
}

// A dead letter is a blob written to the dead-letter container: counted from the storage
// account's write log, so the alert does not depend on what the app logs.
resource deadLetters 'Microsoft.Insights/scheduledQueryRules@2022-06-15' = {
  name: '${namePrefix}-dead-letters'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Dead letters written'
    description: 'Records a sink could never process were dead-lettered; inspect and replay them.'
    severity: 2
    enabled: true
    scopes: [
      workspaceId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: 'StorageBlobLogs | where AccountName == "${dataStorageAccountName}" and OperationName in ("PutBlob", "PutBlockList") and StatusText == "Success" and ObjectKey startswith "/${dataStorageAccountName}/${deadletterContainerName}/"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: false
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

output actionGroupId string = actionGroup.id
