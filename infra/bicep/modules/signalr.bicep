// Azure SignalR Service in serverless mode, Entra only: the Functions extension reaches it with
// the managed identity (AzureSignalRConnectionString__serviceUri).

param name string
param location string
param tags object = {}

@description('Free_F1 (20 connections, 20k messages a day) or a paid tier.')
@allowed(['Free_F1', 'Standard_S1', 'Premium_P1'])
param skuName string = 'Free_F1'

@description('Units (about 1,000 connections each); Free_F1 has exactly 1.')
@minValue(1)
@maxValue(100)
param capacity int = 1

@description('Origins browsers may connect from: the Function App that serves the dashboard.')
param allowedOrigins array

resource signalR 'Microsoft.SignalRService/signalR@2024-03-01' = {
  name: name
  location: location
  tags: tags
  kind: 'SignalR'
  sku: {
    name: skuName
    capacity: skuName == 'Free_F1' ? 1 : capacity
  }
  properties: {
    features: [
      {
        flag: 'ServiceMode'
        value: 'Serverless'
      }
      {
        flag: 'EnableConnectivityLogs'
        value: 'True'
      }
    ]
    cors: {
      allowedOrigins: allowedOrigins
    }
    disableLocalAuth: true
    disableAadAuth: false
    publicNetworkAccess: 'Enabled'
    tls: {
      clientCertEnabled: false
    }
  }
}

output id string = signalR.id
output name string = signalR.name
output serviceUri string = 'https://${signalR.properties.hostName}'
