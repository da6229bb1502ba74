<?xml version="1.0" encoding="utf-8"?>
<!-- vodaxa integration harness: a synthetic HEASARC-like NuSTAR master table.

setup.sh installs this file as /var/gavo/inputs/vodaxa/q.rd (RD id vodaxa/q) and
writes data/ beside it with make_data.py. Published as
  * TAP/ADQL table vodaxa.numaster, plus rows in ivoa.obscore
  * Simple Cone Search  /vodaxa/q/cone/scs.xml
  * DataLink            /vodaxa/q/dl/dlmeta?ID=...  (ID repeatable; GET and POST)
  * static products     /vodaxa/q/dl/static/<obsid>/{events.fits,README.txt}
-->
<resource schema="vodaxa">
  <meta name="title">vodaxa test archive: synthetic NuSTAR master table</meta>
  <meta name="description">
    Three hundred synthetic NuSTAR-like observations with HEASARC's numaster
    column names, published so that the vodaxa client can be tested against a
    real TAP, SCS and DataLink server.
  </meta>
  <meta name="creationDate">2026-11-21T00:00:00Z</meta>
  <meta name="subject">x-ray-astronomy</meta>
  <meta name="creator.name">vodaxa developers</meta>
  <meta name="contentLevel">Research</meta>
  <meta name="type">Catalog</meta>
  <meta name="coverage.waveband">X-ray</meta>

  <table id="numaster" onDisk="True" adql="True" primary="obsid">
    <meta name="description">Synthetic NuSTAR master table: one row per
      observation (HEASARC numaster layout).</meta>
    <!-- TAP and SCS results containing pubdid get a DataLink service
      descriptor, so pyvo's iter_datalinks() works on them. -->
    <meta name="_associatedDatalinkService">
      <meta name="serviceId">dl</meta>
      <meta name="idColumn">pubdid</meta>
    </meta>

    <mixin>//scs#q3cindex</mixin>
    <mixin
      productType="'event'"
      calibLevel="2"
      collectionName="'VODAXA-NUSTAR'"
      obsId="obsid"
      did="pubdid"
      title="'NuSTAR observation ' || obsid"
      targetName="name"
      ra="ra"
      dec="dec"
      fov="0.2"
      tMin="&quot;time&quot;"
      tMax="end_time"
      expTime="exposure_a"
      emMin="1.57e-11"
      emMax="4.13e-10"
      oUCD="'phot.count'"
      facilityName="'NuSTAR'"
      instrumentName="'FPMA'"
      accessURL="'\getConfig{web}{serverURL}/vodaxa/q/dl/dlmeta?ID=' || gavo_urlescape(pubdid)"
      mime="'application/x-votable+xml;content=datalink'"
      size="6"
      preview="NULL"
      >//obscore#publish</mixin>

    <column name="obsid" type="text" required="True"
      ucd="meta.id;meta.main" tablehead="ObsID" verbLevel="1"
      description="Observation identifier: 11 digits, leading zeros significant"/>
    <column name="pubdid" type="text"
      ucd="meta.ref.ivoid" tablehead="Pub. DID" verbLevel="1"
      description="Publisher dataset identifier; the ID for the DataLink service"/>
    <column name="name" type="text"
      ucd="meta.id;src" tablehead="Target" verbLevel="1"
      description="Target designation"/>
    <column name="ra" type="double precision" required="True"
      ucd="pos.eq.ra;meta.main" unit="deg" tablehead="RA" verbLevel="1"
      description="Pointing right ascension (ICRS)"/>
    <column name="dec" type="double precision" required="True"
      ucd="pos.eq.dec;meta.main" unit="deg" tablehead="Dec" verbLevel="1"
      description="Pointing declination (ICRS)"/>
    <!-- TIME is reserved in SQL-92/ADQL: DaCHS needs a delimited identifier,
      so ADQL must write "time" with double quotes. -->
    <column name="quoted/time" type="double precision"
      ucd="time.start;obs.exposure" unit="d" tablehead="Start" verbLevel="1"
      description="Observation start (MJD)"/>
    <column name="end_time" type="double precision"
      ucd="time.end;obs.exposure" unit="d" tablehead="End" verbLevel="1"
      description="Observation end (MJD)"/>
    <column name="exposure_a" type="double precision"
      ucd="time.duration;obs.exposure" unit="s" tablehead="Exp. A" verbLevel="1"
      description="Dead-time corrected exposure, focal plane module A"/>
    <column name="exposure_b" type="double precision"
      ucd="time.duration;obs.exposure" unit="s" tablehead="Exp. B" verbLevel="1"
      description="Dead-time corrected exposure, focal plane module B"/>
    <column name="ontime_a" type="double precision"
      ucd="time.duration" unit="s" tablehead="On-time A" verbLevel="1"
      description="On-source time, focal plane module A"/>
    <column name="ontime_b" type="double precision"
      ucd="time.duration" unit="s" tablehead="On-time B" verbLevel="1"
      description="On-source time, focal plane module B"/>
    <column name="observation_mode" type="text"
      ucd="meta.code" tablehead="Obs. mode" verbLevel="1"
      description="SCIENCE, SLEW or CALIBRATION"/>
    <column name="spacecraft_mode" type="text"
      ucd="meta.code" tablehead="S/C mode" verbLevel="1"
      description="INERTIAL or SLEW"/>
    <column name="status" type="text"
      ucd="meta.code.status" tablehead="Status" verbLevel="1"
      description="archived, processed, scheduled or accepted"/>
    <column name="public_date" type="double precision"
      ucd="time.release" unit="d" tablehead="Public" verbLevel="1"
      description="Date the data become public (MJD); NULL if not yet known"/>
    <column name="subject_category" type="text"
      ucd="meta.code.class" tablehead="Category" verbLevel="1"
      description="Proposal subject category"/>
    <column name="obs_type" type="text"
      ucd="meta.code" tablehead="Type" verbLevel="1"
      description="Programme type: GO, GT, CAL, DDT or LEGACY"/>
    <column name="issue_flag" type="integer"
      ucd="meta.code.qual" tablehead="Issue" verbLevel="1"
      description="1 if the observation has a known data issue, else 0"/>
  </table>

  <data id="import">
    <sources>data/master.csv</sources>
    <csvGrammar/>
    <make table="numaster">
      <rowmaker idmaps="*">
        <map key="end_time" nullExpr="''"/>
        <map key="public_date" nullExpr="''"/>
      </rowmaker>
    </make>
  </data>

  <service id="cone" allowed="scs.xml,form">
    <meta name="title">vodaxa numaster cone search</meta>
    <meta name="shortName">vodaxa scs</meta>
    <meta name="testQuery.ra">61.8232</meta>
    <meta name="testQuery.dec">3.7099</meta>
    <meta name="testQuery.sr">0.5</meta>
    <scsCore queriedTable="numaster">
      <FEED source="//scs#coreDescs"/>
    </scsCore>
    <publish render="scs.xml" sets="ivo_managed"/>
    <publish render="form" sets="local"/>
  </service>

  <!-- DataLink. ID is the pubdid (a bare obsid is completed with didPrefix).
    Public observations link #this (events.fits) and #documentation
    (README.txt), both served by this service's static renderer; for
    proprietary ones (public_date NULL or in the future) #this is a
    NotFoundFault row. -->
  <service id="dl" allowed="dlmeta,static">
    <meta name="title">vodaxa numaster datalink</meta>
    <meta name="description">Products of a synthetic NuSTAR observation.</meta>
    <property name="staticData">data/products</property>
    <datalinkCore>
      <descriptorGenerator procDef="//datalink#fromtable">
        <bind key="tableName">"vodaxa.numaster"</bind>
        <bind key="idColumn">"pubdid"</bind>
        <bind key="didPrefix">"ivo://x-vodaxa.test/numaster?"</bind>
      </descriptorGenerator>

      <metaMaker semantics="#this">
        <code>
          import time
          md = descriptor.metadata
          nowMJD = time.time()/86400.+40587.
          if md["public_date"] is None or md["public_date"]>nowMJD:
            yield DatalinkFault.NotFoundFault(descriptor.pubDID,
              "Observation %s is proprietary"%md["obsid"], semantics="#this")
          else:
            yield descriptor.makeLinkFromFile(
              "data/products/%s/events.fits"%md["obsid"],
              description="Event list (FITS)",
              contentType="application/fits",
              service=self.rd.getById("dl"))
        </code>
      </metaMaker>
      <metaMaker semantics="#documentation">
        <code>
          yield descriptor.makeLinkFromFile(
            "data/products/%s/README.txt"%descriptor.metadata["obsid"],
            description="Observation notes",
            contentType="text/plain",
            service=self.rd.getById("dl"))
        </code>
      </metaMaker>
    </datalinkCore>
  </service>
</resource>
